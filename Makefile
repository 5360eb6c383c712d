# polc — see README.md. `make demo` and `make test` work on a fresh machine.
GO      ?= go
BIN     := bin/polc
PKGS    := ./...
FUZZTIME ?= 20s

.PHONY: build test demo bench fuzz golden-update vet cross clean

# polc exec starts on every sandboxed command: a static binary (no cgo
# runtime to load) without urfave/cli's unused docs generator (whose
# markdown tables are built at init) starts about 2 ms sooner.
BUILDFLAGS ?= -tags urfave_cli_no_docs

build:
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -o $(BIN) ./cmd/polc

vet:
	$(GO) vet $(PKGS)
	GOOS=darwin $(GO) vet $(PKGS)
	GOOS=windows $(GO) vet $(PKGS)

# cross checks that the macOS and Windows runtimes compile, tests included.
cross:
	GOOS=darwin $(GO) build ./...
	GOOS=windows $(GO) build ./...
	@for p in $$($(GO) list ./...); do \
		GOOS=darwin $(GO) test -c -o /dev/null $$p || exit 1; \
		GOOS=windows $(GO) test -c -o /dev/null $$p || exit 1; \
	done

test: build vet cross
	$(GO) test -count=1 $(PKGS)

demo: build
	./examples/demo.sh

bench: build
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	./bench/run.sh

fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

golden-update:
	$(GO) test ./golden -update

clean:
	rm -rf bin
