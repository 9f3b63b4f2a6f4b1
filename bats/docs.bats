#!/usr/bin/env bats
# The shell examples of docs/opsguide.md and README.md, run as written on
# an instance of the test's own, so that they stay true. A block runs when
# the line before its ```sh fence is <!-- doc-test -->; the blocks of a
# file run in order in one shell (later ones use what earlier ones made),
# under set -euo pipefail.

load helpers

REPO=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

setup() {
	setup_work
	# the instance: GDN_TAG (helpers.bash) for the cgroup parent, and a
	# home of its own for every tool
	export GDN_STORE=$WORK/store GDN_NET_STATE=$WORK/net GDN_NET_TABLE=gdndocs_$$
	# the examples use the default init beside the tools: this copy, as
	# the one the server's unit names, is reachable by container root
	mkdir -p "$WORK/bin"
	cp -p "$GDN_BIN"/gdn-* "$GDN_BIN"/dadoo "$WORK/bin/"
	export PATH=$WORK/bin:$PATH
	POOL=10.253.244.0/28
	# what has no environment variable: the network pool of gdn-net and
	# gdn-server, runc's root; wrappers that exec, so that $! of an
	# example's background server is the server
	mkdir -p "$WORK/wrap"
	wrap gdn-net "$WORK/bin/gdn-net" --network-pool "$POOL"
	wrap gdn-server "$WORK/bin/gdn-server" --network-pool "$POOL"
	wrap runc "$(command -v runc || echo /usr/sbin/runc)" --root "$GDN_RUNTIME_ROOT"
	export PATH=$WORK/wrap:$PATH
	SOCK=/tmp/garden-$GDN_TAG.sock
}

# wrap NAME BINARY ARGS...: $WORK/wrap/NAME runs BINARY with ARGS first.
wrap() {
	local name=$1 bin=$2; shift 2
	printf '#!/bin/sh\nexec %s %s "$@"\n' "$bin" "$*" >"$WORK/wrap/$name"
	chmod +x "$WORK/wrap/$name"
}

teardown() {
	local h
	# a server an example left running (the examples' own socket)
	local p
	p=$(cat "$SOCK.lock" 2>/dev/null) || true
	[ -z "$p" ] || [ "$(readlink "/proc/$p/exe")" != "$WORK/bin/gdn-server" ] || kill "$p"
	rm -f "$SOCK" "$SOCK.lock"
	for h in $(ls "$GDN_NET_STATE/containers" 2>/dev/null); do gdn-net --network-pool "$POOL" down "${h%.json}" >/dev/null 2>&1 || true; done
	for h in $(ls "$GDN_STORE/volumes" 2>/dev/null); do
		gdn-run delete "$h" >/dev/null 2>&1 || true
		gdn-rootfs delete "$h" >/dev/null 2>&1 || true
	done
	nft delete table ip "$GDN_NET_TABLE" 2>/dev/null || true
	local m
	for m in $(awk -v w="$WORK/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount "$m" 2>/dev/null || true
	done
	teardown_work
}

# blocks FILE: the runnable blocks of FILE, each introduced by a comment
# naming its line.
blocks() {
	awk -v f="$1" '
		/^<!-- doc-test -->$/ { marked = NR; next }
		marked && NR == marked + 1 && /^```sh$/ { inblock = 1; printf "\n# --- %s:%d\n", f, NR; next }
		{ marked = 0 }
		inblock && /^```$/ { inblock = 0; next }
		inblock { print }
	' "$REPO/$1"
}

# run_blocks FILE: FILE's blocks in one bash, with the default rootfs
# pointed at the test's.
run_blocks() {
	local script=$WORK/${1//\//_}.sh
	{
		echo 'set -euo pipefail'
		# what an example started in the background ends with the script
		echo 'trap '"'"'kill $(jobs -p) 2>/dev/null || true'"'"' EXIT'
		blocks "$1" | sed "s|/var/lib/gdn/rootfs|$WORK/rootfs|g"
	} >"$script"
	[ "$(grep -c '^# --- ' "$script")" -gt 0 ] || { echo "no runnable blocks in $1"; return 1; }
	run bash -x "$script"
	echo "$output"
	[ "$status" -eq 0 ] || { echo "$1: status $status"; return 1; }
}

@test "docs/opsguide.md: every marked example runs" {
	command -v runc >/dev/null || skip "runc not installed (scripts/install-deps installs it)"
	run_blocks docs/opsguide.md
}

@test "README.md: every marked example runs" {
	run_blocks README.md
}
