package imapserver

// extCaps are the capabilities of the extensions in their own files
// (unauthenticate.go, ...), advertised with authCaps.
var extCaps = []string{
	"UNAUTHENTICATE", // RFC 8437
	"OBJECTID",       // RFC 8474, objectid.go
	"PREVIEW",        // RFC 8970, preview.go
	"REPLACE",        // RFC 8508, replace.go
	"METADATA",       // RFC 5464, metadata.go
	"METADATA-SERVER",
	"URLAUTH",        // RFC 4467, urlauth.go
	"URLAUTH=BINARY", // RFC 5524
	"NOTIFY",         // RFC 5465, notify.go
}
