package imapserver

import "github.com/mailroom/mailroom/imapserver/imapwire"

// command is the command being executed.
type command struct {
	tag  string
	name string // upper case, "UID FETCH" for UID forms
	uid  bool
}

type stateMask uint8

const (
	inNotAuth  stateMask = 1 << stateNotAuth
	inAuth     stateMask = 1 << stateAuth
	inSelected stateMask = 1 << stateSelected
	inAny                = inNotAuth | inAuth | inSelected
	inLoggedIn           = inAuth | inSelected
)

type handler struct {
	fn     func(*conn, *command) error
	states stateMask
	// expungeOK: EXPUNGE responses may be sent at the end of this command
	// (RFC 9051 §7.5.1 forbids them during FETCH, STORE and SEARCH, which
	// refer to sequence numbers).
	expungeOK bool
}

// commands is the one dispatch table.
var commands = map[string]handler{
	"CAPABILITY":   {cmdCapability, inAny, true},
	"NOOP":         {cmdNoop, inAny, true},
	"LOGOUT":       {cmdLogout, inAny, true},
	"ID":           {cmdID, inAny, true},
	"LOGIN":        {cmdLogin, inNotAuth, true},
	"AUTHENTICATE": {cmdAuthenticate, inNotAuth, true},
	"STARTTLS":     {cmdStartTLS, inNotAuth, true},
	"ENABLE":       {cmdEnable, inLoggedIn, true},
	"SELECT":       {cmdSelect, inLoggedIn, true},
	"EXAMINE":      {cmdSelect, inLoggedIn, true},
	"CREATE":       {cmdCreate, inLoggedIn, true},
	"DELETE":       {cmdDelete, inLoggedIn, true},
	"RENAME":       {cmdRename, inLoggedIn, true},
	"SUBSCRIBE":    {cmdSubscribe, inLoggedIn, true},
	"UNSUBSCRIBE":  {cmdSubscribe, inLoggedIn, true},
	"LIST":         {cmdList, inLoggedIn, true},
	"LSUB":         {cmdLsub, inLoggedIn, true},
	"NAMESPACE":    {cmdNamespace, inLoggedIn, true},
	"STATUS":       {cmdStatus, inLoggedIn, true},
	"APPEND":       {cmdAppend, inLoggedIn, true},
	"IDLE":         {cmdIdle, inLoggedIn, true},
	"CHECK":        {cmdNoop, inSelected, true},
	"CLOSE":        {cmdClose, inSelected, true},
	"UNSELECT":     {cmdClose, inSelected, true},
	"EXPUNGE":      {cmdExpunge, inSelected, true},
	"UID EXPUNGE":  {cmdExpunge, inSelected, true},
	"SEARCH":       {cmdSearch, inSelected, false},
	"UID SEARCH":   {cmdSearch, inSelected, true},
	"SORT":         {cmdSort, inSelected, false},
	"UID SORT":     {cmdSort, inSelected, true},
	"THREAD":       {cmdThread, inSelected, false},
	"UID THREAD":   {cmdThread, inSelected, true},
	"FETCH":        {cmdFetch, inSelected, false},
	"UID FETCH":    {cmdFetch, inSelected, true},
	"STORE":        {cmdStore, inSelected, false},
	"UID STORE":    {cmdStore, inSelected, true},
	"COPY":         {cmdCopy, inSelected, false},
	"UID COPY":     {cmdCopy, inSelected, true},
	"MOVE":         {cmdMove, inSelected, true},
	"UID MOVE":     {cmdMove, inSelected, true},
	"GETQUOTAROOT": {cmdGetQuotaRoot, inLoggedIn, true},
	"GETQUOTA":     {cmdGetQuota, inLoggedIn, true},
	"SETQUOTA":     {cmdSetQuota, inLoggedIn, true},

	"UNAUTHENTICATE": {cmdUnauthenticate, inLoggedIn, true}, // unauthenticate.go
	"REPLACE":        {cmdReplace, inSelected, true},        // replace.go
	"UID REPLACE":    {cmdReplace, inSelected, true},

	"GETACL":      {cmdGetACL, inLoggedIn, true}, // acl.go
	"SETACL":      {cmdSetACL, inLoggedIn, true},
	"DELETEACL":   {cmdSetACL, inLoggedIn, true},
	"LISTRIGHTS":  {cmdListRights, inLoggedIn, true},
	"MYRIGHTS":    {cmdMyRights, inLoggedIn, true},
	"GETMETADATA": {cmdGetMetadata, inLoggedIn, true}, // metadata.go
	"SETMETADATA": {cmdSetMetadata, inLoggedIn, true},
	"GENURLAUTH":  {cmdGenURLAuth, inLoggedIn, true}, // urlauth.go
	"RESETKEY":    {cmdResetKey, inLoggedIn, true},
	"URLFETCH":    {cmdURLFetch, inLoggedIn, true},
	"NOTIFY":      {cmdNotify, inLoggedIn, true},   // notify.go
	"COMPRESS":    {cmdCompress, inLoggedIn, true}, // compress.go

	"CANCELUPDATE": {cmdCancelUpdate, inSelected, true}, // searchcontext.go
}

func decodeMUTF7(s string) (string, error) { return imapwire.DecodeMUTF7(s) }
func encodeMUTF7(s string) string          { return imapwire.EncodeMUTF7(s) }
