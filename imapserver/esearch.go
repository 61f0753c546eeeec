package imapserver

import (
	"strconv"
	"strings"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
)

// partialRange is PARTIAL's range (RFC 9394 §3): positions lo..hi
// (1-based, lo <= hi) of the result, counted from its end when fromEnd.
type partialRange struct {
	lo, hi  uint32
	fromEnd bool
}

// parsePartialRange reads "n:m" or "-n:-m"; n:m and m:n are the same.
func parsePartialRange(s string) (partialRange, bool) {
	var p partialRange
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return p, false
	}
	if strings.HasPrefix(a, "-") != strings.HasPrefix(b, "-") {
		return p, false
	}
	p.fromEnd = strings.HasPrefix(a, "-")
	if p.fromEnd {
		a, b = a[1:], b[1:]
	}
	lo, err1 := parseNZ(a)
	hi, err2 := parseNZ(b)
	if err1 != nil || err2 != nil {
		return p, false
	}
	p.lo, p.hi = min(lo, hi), max(lo, hi)
	return p, true
}

// parseNZ parses an nz-number (RFC 9051 §9): digits without a leading
// zero, 1 to 4294967295.
func parseNZ(s string) (uint32, error) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

func (p partialRange) String() string {
	if p.fromEnd {
		return "-" + uitoa(p.lo) + ":-" + uitoa(p.hi)
	}
	return uitoa(p.lo) + ":" + uitoa(p.hi)
}

// slice returns the part of nums (a result in its order) the range selects.
func (p partialRange) slice(nums []uint32) []uint32 {
	n := uint64(len(nums))
	lo, hi := uint64(p.lo), uint64(p.hi)
	if lo > n {
		return nil
	}
	hi = min(hi, n)
	if p.fromEnd {
		return nums[n-hi : n-lo+1]
	}
	return nums[lo-1 : hi]
}

// orderedSet writes nums as a sequence-set that keeps their order (ESORT's
// ALL and PARTIAL, RFC 5267 §3.2): ascending runs of consecutive numbers
// become n:m, everything else is listed as it comes.
func orderedSet(nums []uint32) string {
	var b []byte
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(nums[i]), 10)
		if j > i {
			b = append(b, ':')
			b = strconv.AppendUint(b, uint64(nums[j]), 10)
		}
		i = j + 1
	}
	return string(b)
}

// writeESearch writes "* ESEARCH (TAG ...) [UID] ..." for SEARCH and SORT
// with RETURN (RFC 4731, RFC 5267 ESORT, RFC 9394 PARTIAL). nums is the
// result in its order: ascending for SEARCH, sort order for SORT, where
// MIN and MAX are the first and last in that order (RFC 5267 §3.2).
func (c *conn) writeESearch(cmd *command, ret *searchReturn, nums []uint32, sorted bool, highest uint64) {
	set := func(nums []uint32) string {
		if sorted {
			return orderedSet(nums)
		}
		return imapmsg.NumSetFromNums(nums).String()
	}
	c.untagged().Raw("ESEARCH (TAG ").Quoted(cmd.tag).Raw(")")
	if cmd.uid {
		c.enc.Raw(" UID")
	}
	if len(nums) > 0 {
		if ret.min {
			c.enc.Raw(" MIN ").Number(nums[0])
		}
		if ret.max {
			c.enc.Raw(" MAX ").Number(nums[len(nums)-1])
		}
	}
	if ret.count {
		c.enc.Raw(" COUNT ").Number(uint32(len(nums)))
	}
	if ret.all && len(nums) > 0 {
		c.enc.Raw(" ALL ").Raw(set(nums))
	}
	if ret.partial != nil {
		c.enc.Raw(" PARTIAL (").Raw(ret.partial.String()).SP()
		if part := ret.partial.slice(nums); len(part) > 0 {
			c.enc.Raw(set(part))
		} else {
			c.enc.NIL()
		}
		c.enc.Raw(")")
	}
	if highest > 0 && len(nums) > 0 {
		c.enc.Raw(" MODSEQ ").Number64(highest)
	}
	c.enc.CRLF()
}
