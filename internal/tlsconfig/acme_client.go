package tlsconfig

import "golang.org/x/crypto/acme"

func newACMEClient(directoryURL string) *acme.Client {
	return &acme.Client{DirectoryURL: directoryURL}
}
