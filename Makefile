# roamsign — build and test entry points. See README.md.

GO      ?= go
PKGS    ?= ./...
TIMEOUT ?= 60m

.PHONY: all deps test vet fmt-check build nocgo serve fuzz bench soak quickstart mutate

all: build

## deps: install the Debian packages the tests need (SoftHSM2, OpenSC, poppler, qpdf, NSS tools, Chromium, ...)
deps:
	./scripts/install-deps.sh

## test: the whole test suite against real parts (SoftHSM2, SMTP, SQLite, PostgreSQL, Chromium, openssl/pdfsig/qpdf)
test: deps fmt-check vet nocgo
	$(GO) test -race -count=1 -timeout $(TIMEOUT) $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

build:
	$(GO) build $(PKGS)

## nocgo: the SDK must build without cgo (PKCS#11 backend stubbed)
nocgo:
	CGO_ENABLED=0 $(GO) build $(PKGS)

## serve: run the example sign server on embedded defaults (Ctrl-C stops it cleanly)
# Built, then exec'd rather than `go run`: go run exits 1 when interrupted,
# and make would report a clean Ctrl-C as an error.
serve:
	$(GO) build -o bin/signserver ./examples/signserver
	exec ./bin/signserver serve

## fuzz: run every fuzz target for FUZZTIME each (default 20s; the campaign uses FUZZTIME=10m)
fuzz:
	./scripts/fuzz.sh

## mutate: the mutation gate — every security mutant of scripts/mutants.txt must be killed by the tests that guard its rule
mutate:
	./scripts/mutate.sh

## quickstart: run the README quick start as a newcomer would and sign one hash over the HTTP API
quickstart:
	./scripts/quickstart-check.sh

## bench: benchmarks with their raw baselines
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## soak: the example server under load for SOAK_TIME (default 10m) on SoftHSM2 + PostgreSQL, memory sampled every minute
soak: deps
	./scripts/soak.sh
