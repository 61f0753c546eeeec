package delivery

import (
	"context"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/mailroom/mailroom/sieve"
	"github.com/mailroom/mailroom/store"
)

// Default spam score fields: SpamAssassin's and rspamc's X-Spam-Score,
// and Rspamd's X-Spamd-Result ("default: False [5.30 / 15.00]; ...").
var DefaultSpamHeaders = []string{"X-Spam-Score", "X-Spamd-Result"}

// DefaultSpamMaxScore is the score read as "certainly spam" (RFC 5235
// value 10) when the field does not carry its own threshold: Rspamd's
// default reject score.
const DefaultSpamMaxScore = 15.0

// spamdResult matches Rspamd's "[score / threshold]".
var spamdResult = regexp.MustCompile(`\[\s*(-?[0-9]+(?:\.[0-9]+)?)\s*/\s*(-?[0-9]+(?:\.[0-9]+)?)\s*\]`)

// spamScore reads the scanner verdict for spamtest/spamtestplus (RFC
// 5235) from the first of headers present in msg: a bare score (X-Spam-
// Score: 5.3) against maxScore, or Rspamd's "[score / threshold]". nil:
// none there, the message was not tested (spamtest is "0").
func spamScore(msg sieve.Message, headers []string, maxScore float64) *sieve.TestScore {
	if !(maxScore > 0) || math.IsInf(maxScore, 0) {
		maxScore = DefaultSpamMaxScore
	}
	for _, h := range headers {
		for _, v := range msg.Header(h) {
			v = strings.TrimSpace(v)
			score, limit := 0.0, maxScore
			if m := spamdResult.FindStringSubmatch(v); m != nil {
				score, _ = strconv.ParseFloat(m[1], 64)
				if l, _ := strconv.ParseFloat(m[2], 64); l > 0 {
					limit = l
				}
			} else {
				f := strings.Fields(v)
				if len(f) == 0 {
					continue
				}
				s, err := strconv.ParseFloat(strings.TrimRight(f[0], ";,"), 64)
				if err != nil || math.IsNaN(s) || math.IsInf(s, 0) {
					continue
				}
				score = s
			}
			pct := score / limit * 100
			if math.IsNaN(pct) || math.IsInf(limit, 0) {
				continue
			}
			pct = math.Max(0, math.Min(100, pct))
			// RFC 5235 §3.1: 1 is certainly not spam, 10 certainly spam.
			return &sieve.TestScore{Value: 1 + int(math.Round(pct*9/100)), Percent: int(math.Round(pct))}
		}
	}
	return nil
}

// DefaultVirusHeader is the field virustest reads: ClamAV's milter and
// amavis write "X-Virus-Status: Clean" or "Infected (name)".
const DefaultVirusHeader = "X-Virus-Status"

// virusScore reads virustest's verdict (RFC 5235 §3.2) from header:
// "Clean" is 1 (no virus), "Infected…" 5 (known virus, not removed);
// absent or anything else is nil, not tested ("0").
func virusScore(msg sieve.Message, header string) *sieve.TestScore {
	for _, v := range msg.Header(header) {
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch strings.ToLower(strings.TrimRight(f[0], ";,")) {
		case "clean", "no":
			return &sieve.TestScore{Value: 1}
		case "infected", "yes":
			return &sieve.TestScore{Value: 5}
		}
	}
	return nil
}

// sieveScripts loads the scripts include names (RFC 6609): :personal
// from the account's own scripts in the store, :global through the
// configured loader (the admin's directory); none configured, a global
// include fails (keep) unless :optional.
type sieveScripts struct {
	ss        SieveStore
	accountID int64
	global    func(ctx context.Context, name string) ([]byte, error)
}

func (s sieveScripts) LoadScript(ctx context.Context, name string, global bool) ([]byte, error) {
	if global {
		if s.global == nil {
			return nil, sieve.ErrScriptNotFound
		}
		return s.global(ctx, name)
	}
	sc, err := s.ss.SieveScript(ctx, s.accountID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, sieve.ErrScriptNotFound
	}
	if err != nil {
		return nil, err
	}
	return sc.Source, nil
}
