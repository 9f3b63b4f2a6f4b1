# gdn: build, test, benchmark, install. Run as root for test/bench/run.
SHELL   := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO      ?= go
# seccomp: libcontainer's seccomp filter support (cgo, libseccomp);
# the rest keep go.podman.io/image free of gpgme and graph drivers.
TAGS    := seccomp containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share
UNITDIR ?= $(PREFIX)/lib/systemd/system
# The server's settings live where the unit reads them, not under PREFIX.
SYSCONFDIR ?= /etc
BIN     := bin
TOOLS   := gdn-run gdn-depot gdn-rootfs gdn-rootfs-fetch gdn-net dadoo gdn-server gdn-leakcheck
# The tools with cobra commands: man pages and completions come from them.
CLITOOLS := gdn-run gdn-depot gdn-rootfs gdn-rootfs-fetch gdn-net gdn-server gdn-leakcheck
# What make gen builds for install: man pages, completions, the unit and
# the example settings, with this install's paths filled in.
GEN     := $(BIN)/gen
ROOTFS  ?= /var/lib/gdn/rootfs
# The version every tool prints with --version and gdn-server reports as
# gdn_build_info (pkg/version): git's description of the checkout (GOFLAGS
# may say -buildvcs=false, so Go's own VCS stamp cannot be relied on).
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/gdn-dev/gdn/pkg/version.Version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build gen test test-go test-fuzz test-bats bench soak install uninstall lint run rootfs clean

all: build

build: $(addprefix $(BIN)/,$(TOOLS)) $(BIN)/gdn-init $(BIN)/dadoo-wait

# The tools that need no C (gdn-run and what embeds libcontainer do: nsenter,
# libseccomp) are built without cgo: a static Go binary skips the dynamic
# loader and libc's start-up, about 1 ms of CPU a run on a virtual machine,
# where libc's CPU-feature probing traps to the hypervisor.
NOCGO   := gdn-rootfs gdn-rootfs-fetch gdn-net dadoo gdn-leakcheck
$(BIN)/%: FORCE
	CGO_ENABLED=$(if $(filter $*,$(NOCGO)),0,1) $(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $@ ./cmd/$*

# The two C programs are static and linked with musl (musl-gcc, from
# scripts/install-deps; $(CC) and glibc if it is missing): glibc's start-up
# probes the CPU's caches with cpuid, which traps to the hypervisor on a
# virtual machine, 0.65 ms of CPU per start here against musl's 0.04 ms,
# paid by every create (gdn-init) and every Run (dadoo-wait). musl brings
# no kernel headers: KINC holds links to the system's.
MUSLCC  ?= $(shell command -v musl-gcc 2>/dev/null)
KINC    := $(BIN)/.kinc
STATICCC = $(if $(MUSLCC),$(MUSLCC) -idirafter $(KINC),$(CC))
$(KINC): FORCE
	@mkdir -p $@
	@ln -sfn /usr/include/linux $@/linux
	@ln -sfn /usr/include/asm-generic $@/asm-generic
	@ln -sfn $(firstword $(wildcard /usr/include/$(shell $(CC) -dumpmachine)/asm /usr/include/asm)) $@/asm

# The sleeping init: static C, so it needs nothing inside a rootfs.
$(BIN)/gdn-init: cmd/gdn-init/init.c $(KINC) FORCE
	@mkdir -p $(BIN)
	$(STATICCC) -static -Os -s -Wall -Wextra -Werror -DGDN_VERSION='"$(VERSION)"' -o $@ $<

# dadoo's waiting half, one per running process: static C, to be small.
$(BIN)/dadoo-wait: cmd/dadoo-wait/wait.c $(KINC) FORCE
	@mkdir -p $(BIN)
	$(STATICCC) -static -Os -s -Wall -Wextra -Werror -DGDN_VERSION='"$(VERSION)"' -o $@ $<

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

# The man pages come from builds with the genman tag (the converter they
# need would slow every run of the installed tools); they stay in $(GEN).
gen: build
	rm -rf $(GEN)
	mkdir -p $(GEN)/man1 $(GEN)/bash $(GEN)/zsh $(GEN)/fish $(GEN)/genman
	set -e; for t in $(CLITOOLS); do \
		$(GO) build -tags '$(TAGS) genman' -ldflags '$(LDFLAGS)' -o $(GEN)/genman/$$t ./cmd/$$t; \
		$(GEN)/genman/$$t gen-man $(GEN)/man1; \
		$(BIN)/$$t completion bash >$(GEN)/bash/$$t; \
		$(BIN)/$$t completion zsh >$(GEN)/zsh/_$$t; \
		$(BIN)/$$t completion fish >$(GEN)/fish/$$t.fish; \
	done
	rm -rf $(GEN)/genman
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' scripts/gdn-server.service.in >$(GEN)/gdn-server.service
	sed -e 's|@BINDIR@|$(BINDIR)|g' scripts/gdn-server.conf.in >$(GEN)/gdn-server.conf

# The binaries and gdn-init, gdn-mk-rootfs (scripts/mk-rootfs), man pages,
# bash/zsh/fish completions, the systemd unit and the server's settings.
# An existing settings file is the operator's: it is kept, and the shipped
# one goes beside it as gdn-server.conf.dist.
install: gen
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/gdn \
		$(DESTDIR)$(DATADIR)/bash-completion/completions $(DESTDIR)$(DATADIR)/zsh/site-functions \
		$(DESTDIR)$(DATADIR)/fish/vendor_completions.d
	install -m 0755 $(addprefix $(BIN)/,$(TOOLS)) $(BIN)/gdn-init $(BIN)/dadoo-wait $(DESTDIR)$(BINDIR)/
	install -m 0755 scripts/mk-rootfs $(DESTDIR)$(BINDIR)/gdn-mk-rootfs
	install -m 0644 $(GEN)/man1/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(GEN)/bash/* $(DESTDIR)$(DATADIR)/bash-completion/completions/
	install -m 0644 $(GEN)/zsh/* $(DESTDIR)$(DATADIR)/zsh/site-functions/
	install -m 0644 $(GEN)/fish/* $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/
	install -m 0644 $(GEN)/gdn-server.service $(DESTDIR)$(UNITDIR)/
	if [ -e $(DESTDIR)$(SYSCONFDIR)/gdn/gdn-server.conf ] && ! cmp -s $(GEN)/gdn-server.conf $(DESTDIR)$(SYSCONFDIR)/gdn/gdn-server.conf; then \
		install -m 0644 $(GEN)/gdn-server.conf $(DESTDIR)$(SYSCONFDIR)/gdn/gdn-server.conf.dist; \
		echo "kept $(DESTDIR)$(SYSCONFDIR)/gdn/gdn-server.conf; the shipped one is gdn-server.conf.dist"; \
	else install -m 0644 $(GEN)/gdn-server.conf $(DESTDIR)$(SYSCONFDIR)/gdn/; fi

# Removes what install put there (the names gen makes for this build), and
# the settings only if unchanged, and /etc/gdn if that leaves it empty;
# shared directories (bin, man1, completions) stay.
uninstall: gen
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(TOOLS) gdn-init dadoo-wait gdn-mk-rootfs)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(wildcard $(GEN)/man1/*.1)))
	rm -f $(addprefix $(DESTDIR)$(DATADIR)/bash-completion/completions/,$(CLITOOLS))
	rm -f $(addprefix $(DESTDIR)$(DATADIR)/zsh/site-functions/_,$(CLITOOLS))
	rm -f $(addprefix $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/,$(addsuffix .fish,$(CLITOOLS)))
	rm -f $(DESTDIR)$(UNITDIR)/gdn-server.service $(DESTDIR)$(SYSCONFDIR)/gdn/gdn-server.conf.dist
	if cmp -s $(GEN)/gdn-server.conf $(DESTDIR)$(SYSCONFDIR)/gdn/gdn-server.conf; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/gdn/gdn-server.conf; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/gdn/gdn-server.conf ]; then \
		echo "kept $(DESTDIR)$(SYSCONFDIR)/gdn/gdn-server.conf: it was changed"; fi
	rmdir $(DESTDIR)$(SYSCONFDIR)/gdn 2>/dev/null || true

lint:
	@test -z "$$(gofmt -l cmd pkg bench)" || { gofmt -l cmd pkg bench; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) run $(STATICCHECK) -tags '$(TAGS)' ./...

# Check the host (gdn-server check), then serve the Garden API on
# /tmp/garden.sock with the default rootfs.
run: build rootfs
	scripts/run-server $(ROOTFS)

clean:
	rm -rf $(BIN)
