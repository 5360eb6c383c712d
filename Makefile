# polc — see README.md. `make demo` and `make test` work on a fresh machine.
GO      ?= go
BIN     := bin/polc
PKGS    := ./...
FUZZTIME ?= 20s

.PHONY: build install test demo bench fuzz golden-update vet cross clean

# polc exec starts on every sandboxed command: a static binary (no cgo
# runtime to load) without urfave/cli's unused docs generator (whose
# markdown tables are built at init) starts about 2 ms sooner. The e2e
# tests and bench/*.sh build polc with this target too: one set of flags.
BUILDFLAGS ?= -tags urfave_cli_no_docs
# polc version prints the commit it was built from.
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LDFLAGS ?= -X main.commit=$(COMMIT)
# On Linux, each segment starts on a 2 MiB boundary (the file is padded,
# about 5 MB more), so that all of polc's code and read-only data can be
# mapped with huge pages once the page cache holds them so (package
# hugetext): 12 MiB instead of 10, some 30 fewer page faults per start.
ifeq ($(shell $(GO) env GOOS),linux)
LDFLAGS += -R 0x200000
endif
# make install puts bin/polc (built as make build does) in $(PREFIX)/bin;
# DESTDIR stages it for a package.
PREFIX  ?= /usr/local

build:
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/polc

install: build
	install -d '$(DESTDIR)$(PREFIX)/bin'
	install -m 0755 $(BIN) '$(DESTDIR)$(PREFIX)/bin/polc'

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

# bench: the Go benchmarks, then bench/run.sh's side-by-side runs against
# bare bwrap and codex sandbox (bench/scale.sh: cold, warm, check and build
# on a generated 200,000-file tree, beside a one-statx-per-directory
# floor). POLC_BENCH_1M=1 adds the 1,000,000-file tree (minutes);
# POLC_BENCH_LARGE_TREE=DIR (go run ./bench/mktree -large DIR) runs the
# Go benchmarks' large variants on it.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	./bench/run.sh

fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

golden-update:
	$(GO) test ./golden -update

clean:
	rm -rf bin
