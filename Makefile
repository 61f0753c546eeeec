# `make test` is the project's test command: README.md shows it and .ci/run
# runs exactly it. It first runs scripts/test-deps, which installs what the
# tests need (as root) or stops with the sudo line to run (not root).
GO ?= go
SHELL := /bin/bash

# make build embeds the version (the nearest tag, else "devel") and the
# commit; `mailroom version` prints them.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null | grep -E '^v[0-9]' || echo devel)
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo +dirty)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: build test test-deps vet fuzz-smoke interop
build:
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o mailroom ./cmd/mailroom

vet:
	$(GO) vet ./...

test-deps:
	@scripts/test-deps >/dev/null

test:
	@set -e; start=$$SECONDS; \
	env=$$(scripts/test-deps); eval "$$(grep "^export " <<<"$$env")"; \
	echo "+ go vet ./..."; $(GO) vet ./...; \
	echo "+ go test -race ./..."; $(GO) test -race -timeout 20m ./...; \
	echo "+ interop/run"; interop/run; \
	echo "make test: passed in $$((SECONDS - start))s"

# Real mail clients against a fresh mailroom each (docs/clients.md);
# `interop/run NAME...` runs some of them.
interop:
	@eval "$$(scripts/test-deps | grep "^export ")"; interop/run
