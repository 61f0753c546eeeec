package imapserver

// extCaps are the capabilities of the extensions in their own files
// (unauthenticate.go, ...), advertised with authCaps.
var extCaps = []string{
	"UNAUTHENTICATE", // RFC 8437
	"ESORT",          // RFC 5267 §3, sort.go and esearch.go
	"PARTIAL",        // RFC 9394, esearch.go
	"CONTEXT=SEARCH", // RFC 5267 §4, searchcontext.go
	"CONTEXT=SORT",
	"OBJECTID", // RFC 8474, objectid.go
	"PREVIEW",  // RFC 8970, preview.go
	"REPLACE",  // RFC 8508, replace.go
	"METADATA", // RFC 5464, metadata.go
	"METADATA-SERVER",
	"URLAUTH",        // RFC 4467, urlauth.go
	"URLAUTH=BINARY", // RFC 5524
	"NOTIFY",         // RFC 5465, notify.go
	"SAVEDATE",       // RFC 8514, savedate.go
	"CATENATE",       // RFC 4469, catenate.go
	"URL-PARTIAL",    // RFC 5550: ;PARTIAL= in CATENATE and URLFETCH URLs
}

// loggedInCaps are advertised once logged in only: their commands are
// refused before.
var loggedInCaps = []string{
	"COMPRESS=DEFLATE", // RFC 4978, compress.go
}
