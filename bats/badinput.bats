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
	# an image mount of a file system the kernel does not know: libcontainer
	# fails inside the container (gdn-depot refuses, before that, an init
	# container root cannot execute, the former way to fail here)
	echo '{"root":{"path":"'"$WORK/rootfs"'"},"mounts":[{"destination":"/tmp/x","type":"nosuchfs","source":"none"}]}' |
		gdn-depot create "$h" --init-bin "$INIT" >/dev/null
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

@test "a tool run as a user other than root says it needs root, before any work" {
	for tool in "gdn-depot list" "gdn-run list" "gdn-rootfs list" "gdn-net list" "gdn-leakcheck" "gdn-server"; do
		run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups env PATH="$PATH" $tool
		[ "$status" -eq 2 ]
		[ "$(error_type "$stderr")" = Usage ]
		[[ "$(jq -r .error.message <<<"$stderr")" == "${tool%% *}"*"needs root"*"uid 65534"* ]]
	done
	# --help still works for anyone
	setpriv --reuid=65534 --regid=65534 --clear-groups gdn-run --help >/dev/null
}

@test "an argument count error shows the command's usage line" {
	run --separate-stderr gdn-run exec
	[ "$status" -eq 2 ]
	[ "$(error_type "$stderr")" = Usage ]
	[ "$(jq -r .error.message <<<"$stderr")" = "gdn-run exec takes at least 1 argument, got 0 (usage: $(gdn-run exec --help | sed -n 's/^  \(gdn-run exec .*\)/\1/p' | head -1)): Usage" ]
	for cmd in "gdn-run kill" "gdn-depot create" "gdn-rootfs create" "gdn-net net-in"; do
		run --separate-stderr $cmd
		[ "$status" -eq 2 ]
		[[ "$(jq -r .error.message <<<"$stderr")" == "$cmd takes "*"(usage: $cmd "*")"* ]]
	done
	run --separate-stderr gdn-run list --bogus
	[ "$status" -eq 2 ]
	[[ "$(jq -r .error.message <<<"$stderr")" == *"unknown flag: --bogus (usage: gdn-run list [flags])"* ]]
}

@test "a pipeline stage after a failed one says so in one line" {
	h=$(handle pipe)
	export GDN_STORE=$WORK/store # never made: the first stage fails before it
	run --separate-stderr bash -c "gdn-rootfs create bad-uri $h | gdn-depot create $h --init-bin $INIT | gdn-run create"
	[ "$status" -eq 5 ]
	[ "$(wc -l <<<"$stderr")" -eq 3 ]
	[[ "$(sed -n 1p <<<"$stderr" | jq -r .error.message)" == *'image URI "bad-uri"'* ]]
	for line in 2 3; do
		[ "$(sed -n ${line}p <<<"$stderr" | jq -r .error.message)" = "no input on stdin: the previous stage of the pipeline failed: InvalidSpec" ]
	done
	# the previous stage's error JSON itself on stdin (2>&1)
	run --separate-stderr bash -c "gdn-rootfs create bad-uri $h 2>&1 | gdn-depot create $h --init-bin $INIT"
	[ "$status" -eq 5 ]
	[[ "$(jq -r .error.message <<<"$stderr")" == "no input on stdin: the previous stage of the pipeline failed (InvalidSpec: image URI \"bad-uri\""* ]]
	assert_no_leaks "$h"
	[ ! -e "$WORK/store" ]
}

@test "init-store without btrfs-progs names the package and makes nothing" {
	mkdir "$WORK/nobtrfs"
	for b in mount umount; do ln -s "$(command -v $b)" "$WORK/nobtrfs/$b"; done
	run --separate-stderr env PATH="$GDN_BIN:$WORK/nobtrfs" gdn-rootfs --store "$WORK/store" init-store
	[ "$status" -eq 1 ]
	[ "$(jq -r .error.message <<<"$stderr")" = 'mkfs.btrfs not found in $PATH: install btrfs-progs (apt-get install btrfs-progs)' ]
	[ ! -e "$WORK/store" ] && [ ! -e "$WORK/store.backing.img" ]
}

@test "kill with a signal the sleeping init never gets says so and sends nothing" {
	h=$(handle kill)
	mkc "$h" >/dev/null
	pid=$(init_pid "$h")
	for sig in "" HUP; do
		run --separate-stderr gdn-run kill "$h" $sig
		[ "$status" -eq 5 ]
		[ "$(error_type "$stderr")" = InvalidSpec ]
		[[ "$(jq -r .error.message <<<"$stderr")" == *"ignores SIG${sig:-TERM}"*"nothing sent"*"gdn-run kill $h KILL"* ]]
	done
	[ "$(gdn-run state "$h" | jq -r .status)" = running ]
	[ "$(init_pid "$h")" = "$pid" ]
	gdn-run kill "$h" KILL >/dev/null
	timeout 10 bash -c "while kill -0 $pid 2>/dev/null; do sleep 0.1; done"
}

@test "a rootfs or init container root cannot reach is refused by gdn-depot create, naming the blocker, and leaves nothing" {
	h=$(handle reach)
	mkdir -m 0700 "$WORK/private"
	cp -a "$WORK/rootfs" "$WORK/private/rootfs"
	run --separate-stderr gdn-depot create "$h" --rootfs "$WORK/private/rootfs" --init-bin "$INIT"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	[[ "$(jq -r .error.message <<<"$stderr")" == *"container root (host uid 4294967294) cannot search \"$WORK/private\" (mode 0700, owner 0:0): chmod o+x $WORK/private"* ]]
	assert_no_leaks "$h"

	install -m 0700 "$INIT" "$WORK/init-0700"
	run --separate-stderr gdn-depot create "$h" --rootfs "$WORK/rootfs" --init-bin "$WORK/init-0700"
	[ "$status" -eq 5 ]
	[[ "$(jq -r .error.message <<<"$stderr")" == *"init binary \"$WORK/init-0700\": container root (host uid 4294967294) cannot execute it"* ]]
	assert_no_leaks "$h"

	# privileged: no user namespace, host root reaches it; it runs
	gdn-depot create "$h" --rootfs "$WORK/private/rootfs" --init-bin "$INIT" --privileged | gdn-run create >/dev/null
	[ "$(gdn-run state "$h" | jq -r .status)" = running ]
}

@test "a host-owned rootfs without the mount points is refused up front, naming them; one container root owns works" {
	h=$(handle points)
	mkdir "$WORK/bare"
	cp -a "$WORK/rootfs/bin" "$WORK/bare/"
	before=$(find "$WORK/bare" | sort | sha256sum)
	run --separate-stderr gdn-depot create "$h" --rootfs "$WORK/bare" --init-bin "$INIT"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	msg=$(jq -r .error.message <<<"$stderr")
	[[ "$msg" == *"lacks mount points that container root (host uid 4294967294) cannot create: /proc, /dev, /sys, /tmp/garden-init, /etc/hosts, /etc/resolv.conf: make them (mkdir -p $WORK/bare/proc "* ]]
	assert_no_leaks "$h"
	[ "$(find "$WORK/bare" | sort | sha256sum)" = "$before" ]

	# the fix the message names makes it start
	fix=${msg#*make them (}
	fix=${fix%%), or give*}
	bash -c "$fix"
	chmod 1777 "$WORK/bare/tmp"
	gdn-depot create "$h" --rootfs "$WORK/bare" --init-bin "$INIT" | gdn-run create >/dev/null
	[ "$(gdn-run state "$h" | jq -r .status)" = running ]
	gdn-run delete "$h" >/dev/null && gdn-depot destroy "$h" >/dev/null

	# a rootfs container root owns (as its own volume is): it makes them
	mkdir "$WORK/owned"
	cp -a "$WORK/rootfs/bin" "$WORK/owned/"
	chown 4294967294:4294967294 "$WORK/owned"
	gdn-depot create "$h" --rootfs "$WORK/owned" --init-bin "$INIT" | gdn-run create >/dev/null
	[ "$(gdn-run state "$h" | jq -r .status)" = running ]
	[ -d "$WORK/owned/proc" ] && [ -f "$WORK/owned/etc/hosts" ]
}
