# polc — see README.md. `make demo` and `make test` work on a fresh machine.
GO      ?= go
BIN     := bin/polc
PKGS    := ./...
FUZZTIME ?= 20s

.PHONY: build test demo bench fuzz golden-update vet cross clean

build:
	$(GO) build -o $(BIN) ./cmd/polc

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
