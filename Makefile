# gdn: build, test, benchmark, install. Run as root for test/bench/run.
SHELL   := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO      ?= go
# seccomp: libcontainer's seccomp filter support (cgo, libseccomp);
# the rest keep go.podman.io/image free of gpgme and graph drivers.
TAGS    := seccomp containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper
PREFIX  ?= /usr/local
BIN     := bin
TOOLS   := gdn-run gdn-depot gdn-rootfs gdn-net dadoo gdn-server gdn-leakcheck
ROOTFS  ?= /var/lib/gdn/rootfs
# The version every tool prints with --version (pkg/version).
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/gdn-dev/gdn/pkg/version.Version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build test test-go test-fuzz test-bats bench soak install lint run rootfs clean

all: build

build: $(addprefix $(BIN)/,$(TOOLS)) $(BIN)/gdn-init

$(BIN)/%: FORCE
	$(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $@ ./cmd/$*

# The sleeping init: static C, so it needs nothing inside a rootfs.
$(BIN)/gdn-init: cmd/gdn-init/init.c FORCE
	@mkdir -p $(BIN)
	$(CC) -static -Os -s -DGDN_VERSION='"$(VERSION)"' -o $@ $<

FORCE:

rootfs: $(ROOTFS)/bin/sh
$(ROOTFS)/bin/sh:
	scripts/mk-rootfs $(ROOTFS)

# Go tests (unit and, as root, kernel tests; the churn, crash and a short
# soak test among them), a short run of every fuzz target, then the bats
# suite.
test: build test-go test-fuzz test-bats

test-go:
	$(GO) test -tags '$(TAGS)' -count=1 -p 1 ./...

# Every fuzz target for a few seconds (scripts/fuzz-short 60s for longer).
test-fuzz:
	scripts/fuzz-short 3s

test-bats: build
	GDN_BIN=$(CURDIR)/$(BIN) bats bats/

# The long soak (make test runs a 100-cycle form of it): 2000
# create/run/destroy cycles from 5 clients, then the churn test at 4 x 250.
soak: build
	GDN_SOAK_CYCLES=2000 $(GO) test -tags '$(TAGS)' -count=1 -v -timeout 60m -run '^TestSoakServerStaysFlat$$' ./pkg/garden/server/
	GDN_CHURN_CYCLES=250 $(GO) test -tags '$(TAGS)' -count=1 -v -timeout 60m -run '^TestChurnEveryCreatedContainerHasItsNetwork$$' ./pkg/garden/server/

bench: build
	bench/run
	bench/processes
	bench/rootfs
	bench/net
	$(GO) run -tags '$(TAGS)' ./bench/api

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(addprefix $(BIN)/,$(TOOLS)) $(BIN)/gdn-init $(DESTDIR)$(PREFIX)/bin/

lint:
	@test -z "$$(gofmt -l cmd pkg bench)" || { gofmt -l cmd pkg bench; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) run $(STATICCHECK) -tags '$(TAGS)' ./...

# Until gdn-server exists: create a container on the default rootfs, run a
# shell command in it, and tear it down, showing every stage.
run: build rootfs
	scripts/run-server $(ROOTFS)

clean:
	rm -rf $(BIN)
