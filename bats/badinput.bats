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

@test "a 200 KiB property goes through gdn-depot on stdin; a NUL or empty key is a clear InvalidSpec" {
	h=$(handle props)
	gdn-depot create "$h" --rootfs "$WORK/rootfs" --init-bin "$INIT" >/dev/null
	head -c $((150 << 10)) /dev/urandom | base64 -w0 >"$WORK/big" # 200 KiB
	[ "$(stat -c %s "$WORK/big")" -eq 204800 ]
	# What the gardener used to do cannot work: one argument over 128 KiB.
	run gdn-depot props "$h" set big "$(cat "$WORK/big")"
	[ "$status" -ne 0 ]
	[[ "$output" == *"too long"* ]]

	gdn-depot props "$h" set big <"$WORK/big" >/dev/null
	[ "$(gdn-depot props "$h" get big | jq -j .value | sha256sum)" = "$(sha256sum <"$WORK/big")" ]
	jq -Rs '{big2: .}' "$WORK/big" | gdn-depot props "$h" merge >/dev/null
	[ "$(gdn-depot props "$h" get big2 | jq -j .value | sha256sum)" = "$(sha256sum <"$WORK/big")" ]

	for bad in '{"a\u0000b":"v"}' '{"":"v"}' '{"k":"a\u0000b"}'; do
		run --separate-stderr gdn-depot props "$h" merge <<<"$bad"
		[ "$status" -eq 5 ]
		[ "$(error_type "$stderr")" = InvalidSpec ]
		[[ "$(jq -r .error.message <<<"$stderr")" == *"property"* ]]
	done
	head -c $(((1 << 20) + 1)) /dev/zero | tr '\0' x >"$WORK/huge"
	run --separate-stderr gdn-depot props "$h" set huge <"$WORK/huge"
	[ "$status" -eq 5 ]
	[[ "$(jq -r .error.message <<<"$stderr")" == *"1 MiB"* ]]
	[ "$(gdn-depot props "$h" list | jq '.properties | keys | length')" -eq 2 ]
}

@test "an invalid GDN_TAG is a clear InvalidSpec from every tool" {
	for tool in "gdn-depot list" "gdn-run list" "gdn-rootfs list"; do
		run --separate-stderr env GDN_TAG=Not-A-Tag $tool
		[ "$status" -eq 5 ]
		[ "$(error_type "$stderr")" = InvalidSpec ]
		[[ "$(jq -r .error.message <<<"$stderr")" == *"invalid tag"* ]]
	done
}
