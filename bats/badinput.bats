#!/usr/bin/env bats
# Bad input: a clear error, a non-zero exit, and nothing left behind.

load helpers

setup() { setup_work; }
teardown() { teardown_work; }

@test "an invalid handle is rejected by every tool before any work" {
	for bad in '../etc' '.hidden' 'a/b' '_x' 'a b' "$(printf 'x%.0s' $(seq 80))"; do
		run --separate-stderr gdn-depot create "$bad" --rootfs "$WORK/rootfs" --init-bin "$INIT"
		[ "$status" -eq 5 ]
		[ "$(error_type "$stderr")" = InvalidHandle ]
		run --separate-stderr gdn-run create "$bad" --bundle "$WORK/rootfs"
		[ "$status" -eq 5 ]
		[ "$(error_type "$stderr")" = InvalidHandle ]
	done
	[ -z "$(ls -A "$GDN_DEPOT")" ]
	[ ! -e "$WORK/etc" ]
}

@test "a duplicate handle is refused and the first container is untouched" {
	h=$(handle dup)
	mkc "$h"
	pid=$(init_pid "$h")
	before=$(sha256sum "$GDN_DEPOT/$h/config.json")

	run --separate-stderr gdn-depot create "$h" --rootfs "$WORK/rootfs" --init-bin "$INIT" --privileged
	[ "$status" -eq 4 ]
	[ "$(error_type "$stderr")" = HandleInUse ]
	[ "$(sha256sum "$GDN_DEPOT/$h/config.json")" = "$before" ]

	run --separate-stderr gdn-run create "$h" --bundle "$GDN_DEPOT/$h"
	[ "$status" -eq 4 ]
	[ "$(error_type "$stderr")" = HandleInUse ]
	[ "$(init_pid "$h")" = "$pid" ]
	[ "$(gdn-run state "$h" | jq -r .status)" = running ]
}

@test "a missing rootfs is a clear error and leaves nothing" {
	h=$(handle norootfs)
	run --separate-stderr gdn-depot create "$h" --rootfs "$WORK/nope" --init-bin "$INIT"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	[[ "$(jq -r .error.message <<<"$stderr")" == *"$WORK/nope"* ]]
	assert_no_leaks "$h"

	# a bundle whose rootfs vanished before gdn-run create
	mkdir "$WORK/rootfs2" && cp -a "$WORK/rootfs/." "$WORK/rootfs2/"
	gdn-depot create "$h" --rootfs "$WORK/rootfs2" --init-bin "$INIT" >/dev/null
	rm -rf "$WORK/rootfs2"
	run --separate-stderr gdn-run create "$h" --bundle "$GDN_DEPOT/$h"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	gdn-depot destroy "$h"
	assert_no_leaks "$h"
}

@test "malformed JSON on stdin is InvalidSpec and leaves nothing" {
	h=$(handle json)
	run --separate-stderr bash -c "echo '{\"root\": {\"path\": ' | gdn-depot create $h --init-bin $INIT"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	run --separate-stderr bash -c "echo 'not json' | gdn-run create"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	echo '{"handle":' >"$WORK/spec.json"
	run --separate-stderr gdn-depot create "$h" --rootfs "$WORK/rootfs" --init-bin "$INIT" --spec "$WORK/spec.json"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	assert_no_leaks "$h"
}

@test "a container that fails to start leaves no cgroup, state or mount" {
	h=$(handle nostart)
	# an init that is not executable: libcontainer fails inside the container
	: >"$WORK/bad-init"
	chmod 0644 "$WORK/bad-init"
	gdn-depot create "$h" --rootfs "$WORK/rootfs" --init-bin "$WORK/bad-init" >/dev/null
	run --separate-stderr gdn-run create "$h" --bundle "$GDN_DEPOT/$h"
	[ "$status" -ne 0 ]
	[ -n "$(jq -r .error.message <<<"$stderr")" ]
	gdn-depot destroy "$h"
	assert_no_leaks "$h"
}

@test "operations on an unknown container say ContainerNotFound" {
	for verb in state ps stats stop events; do
		run --separate-stderr gdn-run "$verb" nosuch
		[ "$status" -eq 3 ]
		[ "$(error_type "$stderr")" = ContainerNotFound ]
	done
	run --separate-stderr gdn-depot show nosuch
	[ "$status" -eq 3 ]
	[ "$(error_type "$stderr")" = ContainerNotFound ]
}
