#!/usr/bin/env bats
# --version on every tool prints the version make build stamped in.

load helpers

@test "every tool prints the stamp make build put in it" {
	# make build stamps git describe --always --dirty; -dirty may come and
	# go between the build and this test, the commit may not.
	want=$(git -C "$BATS_TEST_DIRNAME/.." describe --always 2>/dev/null) || skip "not a git checkout"
	for t in gdn-rootfs gdn-rootfs-fetch gdn-depot gdn-run gdn-net gdn-server gdn-leakcheck dadoo gdn-init dadoo-wait; do
		run "$GDN_BIN/$t" --version
		[ "$status" -eq 0 ] || { echo "$t --version: status $status: $output"; return 1; }
		[[ "$output" =~ ^$t\ version\ ${want}(-dirty)?$ ]] || { echo "$t --version printed: $output (want $want)"; return 1; }
	done
}

@test "a tool built without make still prints a version" {
	# the fallback is the VCS revision Go records (pkg/version's unit
	# test), or "unknown" where the toolchain records none (GOFLAGS
	# -buildvcs=false, as on this project's machines)
	out=$(mktemp -d)
	( cd "$BATS_TEST_DIRNAME/.." && PATH=/usr/local/go/bin:$PATH go build -o "$out/gdn-depot" ./cmd/gdn-depot )
	run "$out/gdn-depot" --version
	rm -rf "$out"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^gdn-depot\ version\ ([0-9a-f]{7}(-dirty)?|unknown)$ ]] || { echo "$output"; return 1; }
}
