package imapmsg

// Temporary stubs; each moves to its own file as it is implemented.

func Match(k Key, m Message, env MatchEnv) (bool, error) { return false, nil }
func NeedsBody(k Key) bool                               { return false }
func NeedsPart(k Key) bool                               { return false }
func UsesModSeq(k Key) bool                              { return false }
