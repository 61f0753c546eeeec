package pop3server

// Status indicators (RFC 1939 §3).
const (
	statusOK  = "+OK"
	statusErr = "-ERR"
)

// Extended response codes, sent in brackets after "-ERR" (RFC 2449 §8).
// Every code mailroom sends is advertised through the RESP-CODES and
// AUTH-RESP-CODE capabilities.
const (
	// codeInUse: the maildrop is locked by another session (RFC 2449 §8.1.1).
	codeInUse = "IN-USE"
	// codeSysTemp: a temporary system problem; try again later (RFC 3206 §4).
	codeSysTemp = "SYS/TEMP"
	// codeSysPerm: a permanent system problem; retrying will not help
	// (RFC 3206 §4).
	codeSysPerm = "SYS/PERM"
	// codeAuth: the failure is related to the credentials or to the way the
	// client tried to authenticate (RFC 3206 §5).
	codeAuth = "AUTH"
)

// Capabilities (RFC 2449 §6, RFC 5034 §3). The SASL capability is built
// from auth.Mechanisms.
const (
	capTop            = "TOP"            // RFC 2449 §6.1
	capUser           = "USER"           // RFC 2449 §6.2
	capSASL           = "SASL"           // RFC 2449 §6.3, RFC 5034 §3
	capRespCodes      = "RESP-CODES"     // RFC 2449 §6.4
	capPipelining     = "PIPELINING"     // RFC 2449 §6.6
	capUIDL           = "UIDL"           // RFC 2449 §6.8
	capImplementation = "IMPLEMENTATION" // RFC 2449 §6.9
	capAuthRespCode   = "AUTH-RESP-CODE" // RFC 3206 §6
	implementation    = "mailroom"       // argument of IMPLEMENTATION
)

// Protocol limits.
const (
	// minIdleTimeout is the shortest inactivity autologout timer RFC 1939
	// §3 allows.
	minIdleTimeout = 10 * 60 // seconds
	// defaultMaxLineLength bounds a command line, CRLF included. RFC 2449 §4
	// limits commands to 255 octets; we allow some slack for sloppy clients.
	defaultMaxLineLength = 512
	// maxSASLLineLength bounds an AUTH continuation line: RFC 5034 §4 lifts
	// the 255-octet limit there.
	maxSASLLineLength = 16 * 1024
	// maxBadCommands is how many consecutive bad commands a session may send
	// before the server closes the connection.
	maxBadCommands = 10
)
