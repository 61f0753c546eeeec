package imapmsg

import (
	"time"

	"github.com/mailroom/mailroom/message"
)

// Temporary stubs; each moves to its own file as it is implemented.

func (s Section) String() string               { return "" }
func ParseSection(s string) (Section, error)   { return Section{}, ErrSyntax }
func ApplyPartial(b []byte, p *Partial) []byte { return b }
func SectionBytes(raw []byte, root *message.Part, s Section) ([]byte, error) {
	return nil, ErrNoSuchPart
}
func BinaryBytes(raw []byte, root *message.Part, part []int) ([]byte, error) {
	return nil, ErrNoSuchPart
}
func BinarySize(raw []byte, root *message.Part, part []int) (int64, error) { return 0, ErrNoSuchPart }

func Match(k Key, m Message, env MatchEnv) (bool, error) { return false, nil }
func NeedsBody(k Key) bool                               { return false }
func NeedsPart(k Key) bool                               { return false }
func UsesModSeq(k Key) bool                              { return false }

func ParseDate(s string) (time.Time, error)     { return time.Time{}, ErrSyntax }
func ParseDateTime(s string) (time.Time, error) { return time.Time{}, ErrSyntax }
func FormatInternalDate(t time.Time) string     { return "" }
