# `make test` is the project's test command: README.md shows it and .ci/run
# runs exactly it.
GO ?= go

.PHONY: build test vet fuzz-smoke interop
build:
	CGO_ENABLED=0 $(GO) build -o mailroom ./cmd/mailroom

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -race -timeout 15m ./...
	interop/run

# Real mail clients against a fresh mailroom each (docs/clients.md);
# `interop/run NAME...` runs some of them.
interop:
	interop/run
