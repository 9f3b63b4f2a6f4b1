#!/usr/bin/env bats
# gdn-rootfs: the image store, as an image plugin (this session: preloaded
# rootfs directories; registry images follow).

load helpers

M=4294967294

setup() {
	setup_work
	export GDN_STORE=$WORK/store
	gdn-rootfs init-store --store-size-bytes 1000000000 \
		--uid-mapping 0:$M:1 --uid-mapping 1:1:$((M - 1)) \
		--gid-mapping 0:$M:1 --gid-mapping 1:1:$((M - 1)) >/dev/null
}

teardown() {
	for v in $(ls "$GDN_STORE/volumes" 2>/dev/null); do gdn-rootfs delete "$v" >/dev/null 2>&1 || true; done
	teardown_work_store
}

# teardown_work_store: containers first (their rootfs are in the store),
# then the store's mount, then the work dir.
teardown_work_store() {
	local leaks=0
	for h in $( (ls "$GDN_RUNTIME_ROOT" 2>/dev/null; ls "$GDN_DEPOT" 2>/dev/null) | grep -v '^\.' | sort -u); do
		gdn-run delete "$h" >/dev/null 2>&1 || true
		gdn-depot destroy "$h" >/dev/null 2>&1 || true
		gdn-rootfs delete "$h" >/dev/null 2>&1 || true
	done
	leak_check || leaks=1
	remove_cg_parent
	if grep -q " $GDN_STORE/volumes/" /proc/self/mountinfo; then
		echo "leaked mounts: $(grep " $GDN_STORE/volumes/" /proc/self/mountinfo)"
		leaks=1
	fi
	for m in $(awk -v w="$WORK/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount "$m" 2>/dev/null || true
	done
	rm -rf "$WORK"
	return $leaks
}

@test "init-store is idempotent and refuses other mappings" {
	run gdn-rootfs init-store --uid-mapping 0:$M:1 --uid-mapping 1:1:$((M - 1)) --gid-mapping 0:$M:1 --gid-mapping 1:1:$((M - 1))
	[ "$status" -eq 0 ]
	[ "$(stat -f -c %T "$GDN_STORE")" = btrfs ]
	run --separate-stderr gdn-rootfs init-store
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	run gdn-rootfs capacity
	[ "$(jq .capacity <<<"$output")" -gt 500000000 ]
}

@test "the pipeline: a rootfs from the store, root-owned files appear as the container's root's" {
	h=$(handle rfs)
	run bash -c "gdn-rootfs create $WORK/rootfs $h | gdn-depot create $h --init-bin $INIT | gdn-run create"
	[ "$status" -eq 0 ]
	run gdn-run exec "$h" --attach -- /bin/sh -c 'stat -c "%u %n" / /etc/passwd; echo hi >/root/x && cat /root/x; rm /etc/hostname && echo removed'
	[ "${lines[0]}" = "0 /" ]
	[ "${lines[1]}" = "0 /etc/passwd" ]
	[ "${lines[2]}" = hi ]
	[ "${lines[3]}" = removed ]
	# the image itself is untouched
	[ -e "$WORK/rootfs/etc/hostname" ]
	[ ! -e "$WORK/rootfs/root/x" ]
	[ "$(stat -c %u "$WORK/rootfs/etc/passwd")" = 0 ]
}

@test "a 10 MiB disk limit stops a 20 MiB write inside the container, and stats follow" {
	h=$(handle quota)
	gdn-rootfs create --disk-limit-size-bytes 10485760 --exclude-image-from-quota "$WORK/rootfs" "$h" |
		gdn-depot create "$h" --init-bin "$INIT" | gdn-run create >/dev/null
	before=$(gdn-rootfs stats "$h" | jq .disk_usage.exclusive_bytes_used)
	run gdn-run exec "$h" --attach -- /bin/dd if=/dev/zero of=/big bs=1M count=20
	[ "$status" -ne 0 ]
	[[ "$output" == *"quota exceeded"* || "$output" == *"No space left"* ]]
	run gdn-rootfs stats "$h"
	excl=$(jq .disk_usage.exclusive_bytes_used <<<"$output")
	total=$(jq .disk_usage.total_bytes_used <<<"$output")
	[ "$excl" -gt $((before + 5 * 1048576)) ]
	[ "$excl" -le 10485760 ]
	[ "$total" -gt "$excl" ]
}

@test "without --exclude-image-from-quota the image counts; a limit below the image is refused" {
	h=$(handle total)
	size=$(du -sB1 "$WORK/rootfs" | cut -f1)
	run --separate-stderr gdn-rootfs create --disk-limit-size-bytes $((size / 2)) "$WORK/rootfs" "$h"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	[ ! -e "$GDN_STORE/volumes/$h" ]
	gdn-rootfs create --disk-limit-size-bytes $((size + 4 * 1048576)) "$WORK/rootfs" "$h" |
		gdn-depot create "$h" --init-bin "$INIT" | gdn-run create >/dev/null
	run gdn-run exec "$h" --attach -- /bin/dd if=/dev/zero of=/big bs=1M count=8
	[ "$status" -ne 0 ]
}

@test "two containers from one image share it; delete is idempotent and leaves no mount or subvolume" {
	a=$(handle a)
	b=$(handle b)
	for h in "$a" "$b"; do gdn-rootfs create "$WORK/rootfs" "$h" >/dev/null; done
	[ "$(gdn-rootfs list | jq '.volumes | length')" -eq 2 ]
	echo changed >"$GDN_STORE/volumes/$a/rootfs/etc/hostname"
	[ "$(cat "$GDN_STORE/volumes/$b/rootfs/etc/hostname")" = gdn ]
	for h in "$a" "$b"; do
		[ "$(gdn-rootfs delete "$h" | jq .deleted)" = true ]
		[ "$(gdn-rootfs delete "$h" | jq .deleted)" = false ]
		[ ! -e "$GDN_STORE/volumes/$h" ]
	done
	run ! grep -q " $GDN_STORE/volumes/" /proc/self/mountinfo
	[ -z "$(btrfs subvolume list -o "$GDN_STORE" | grep volumes/)" ]
}

@test "create --without-mount: the overlay exists only in the container, over one shared id-mapped lower, renewed when the image is replaced; clean drops it once unused" {
	a=$(handle wa)
	b=$(handle wb)
	c=$(handle wc)
	for h in "$a" "$b"; do
		gdn-rootfs create --without-mount "$WORK/rootfs" "$h" >"$WORK/$h.json"
		[ "$(jq -r '.mounts[0] | .destination + " " + .type' "$WORK/$h.json")" = "/ overlay" ]
		gdn-depot create "$h" --init-bin "$INIT" <"$WORK/$h.json" | gdn-run create >/dev/null
	done
	# Nothing of either container is mounted on the host, and one lower
	# serves both.
	run ! grep -q " $GDN_STORE/volumes/" /proc/self/mountinfo
	[ "$(grep -c " $GDN_STORE/lowers/" /proc/self/mountinfo)" -eq 1 ]
	[ -z "$(ls -A "$GDN_STORE/volumes/$a/rootfs")" ]
	run gdn-run exec "$a" --attach -- /bin/sh -c 'stat -c %u /etc/passwd; echo x >/etc/new && echo ok'
	[ "$output" = "$(printf '0\nok')" ]
	[ -e "$GDN_STORE/volumes/$a/upper/etc/new" ]
	run gdn-run exec "$b" --attach -- cat /etc/new
	[ "$status" -ne 0 ]
	# A replaced image directory gets a lower of its own; a running
	# container keeps what it was made from.
	cp -a "$WORK/rootfs" "$WORK/rootfs.new"
	echo replaced >"$WORK/rootfs.new/etc/marker"
	mv "$WORK/rootfs" "$WORK/rootfs.old"
	mv "$WORK/rootfs.new" "$WORK/rootfs"
	gdn-rootfs create --without-mount "$WORK/rootfs" "$c" | gdn-depot create "$c" --init-bin "$INIT" | gdn-run create >/dev/null
	run gdn-run exec "$c" --attach -- cat /etc/marker
	[ "$output" = replaced ]
	run gdn-run exec "$a" --attach -- cat /etc/marker
	[ "$status" -ne 0 ]
	[ "$(grep -c " $GDN_STORE/lowers/" /proc/self/mountinfo)" -eq 1 ]
	# clean keeps the lower while a volume is made from it, drops it after.
	gdn-rootfs clean >/dev/null
	[ "$(grep -c " $GDN_STORE/lowers/" /proc/self/mountinfo)" -eq 1 ]
	for h in "$a" "$b" "$c"; do
		gdn-run delete "$h" >/dev/null
		gdn-depot destroy "$h" >/dev/null
		gdn-rootfs delete "$h" >/dev/null
	done
	gdn-rootfs clean >/dev/null
	run ! grep -q " $GDN_STORE/lowers/" /proc/self/mountinfo
	[ -z "$(ls -A "$GDN_STORE/lowers")" ]
}

@test "bad input: handle, duplicate, missing image, unknown scheme; nothing left behind" {
	h=$(handle bad)
	run --separate-stderr gdn-rootfs create "$WORK/rootfs" ../x
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidHandle ]
	gdn-rootfs create "$WORK/rootfs" "$h" >/dev/null
	run --separate-stderr gdn-rootfs create "$WORK/rootfs" "$h"
	[ "$status" -eq 4 ]
	[ "$(error_type "$stderr")" = HandleInUse ]
	[ -d "$GDN_STORE/volumes/$h/rootfs/bin" ]
	run --separate-stderr gdn-rootfs create "$WORK/nope" "$h-2"
	[ "$status" -eq 3 ]
	[ "$(error_type "$stderr")" = ImageNotFound ]
	run --separate-stderr gdn-rootfs create ftp://x/y "$h-3"
	[ "$status" -eq 5 ]
	[ ! -e "$GDN_STORE/volumes/$h-2" ]
	[ ! -e "$GDN_STORE/volumes/$h-3" ]
	run --separate-stderr gdn-rootfs stats nosuch
	[ "$status" -eq 3 ]
}

@test "a privileged store has no mappings: the image is used as is, for a privileged container" {
	P=(--store "$WORK/pstore")
	gdn-rootfs "${P[@]}" init-store --store-size-bytes 500000000 >/dev/null
	h=$(handle priv)
	gdn-rootfs "${P[@]}" create "$WORK/rootfs" "$h" | gdn-depot create "$h" --privileged --init-bin "$INIT" | gdn-run create >/dev/null
	run gdn-run exec "$h" --attach -- /bin/sh -c 'stat -c %u /etc/passwd; echo x >/etc/new && echo ok'
	[ "$output" = "$(printf '0\nok')" ]
	[ ! -e "$WORK/pstore/volumes/$h/lower" ]
	gdn-run delete "$h" >/dev/null
	gdn-rootfs "${P[@]}" delete "$h" >/dev/null
	umount "$WORK/pstore"
}

# Every point of gdn-rootfs's CrashPoints (read from the source): kill
# there, recover with a delete, and check that no volume, mount or
# subvolume is left and a neighbour's rootfs is untouched.
@test "gdn-rootfs killed at every crash point: a delete leaves nothing, and a neighbour is untouched" {
	nb=$(handle nbr)
	gdn-rootfs create "$WORK/rootfs" "$nb" >/dev/null
	echo mine >"$GDN_STORE/volumes/$nb/rootfs/etc/hostname"
	points=$(sed -n '/^var CrashPoints/,/^}/p' "$BATS_TEST_DIRNAME/../pkg/rootfs/volume_linux.go" | grep -o '"gdn-rootfs\.[^"]*"' | tr -d '"')
	[ "$(wc -w <<<"$points")" -ge 5 ]
	i=0
	for p in $points; do
		i=$((i + 1))
		h=$(handle rcrash$i)
		case $p in
		gdn-rootfs.create.*)
			run env GDN_TEST_CRASH_AT=$p gdn-rootfs create --disk-limit-size-bytes 100000000 "$WORK/rootfs" "$h"
			[ "$status" -eq 137 ] || { echo "$p: create exited $status: $output"; false; }
			;;
		*)
			gdn-rootfs create "$WORK/rootfs" "$h" >/dev/null
			run env GDN_TEST_CRASH_AT=$p gdn-rootfs delete "$h"
			[ "$status" -eq 137 ] || { echo "$p: delete exited $status: $output"; false; }
			;;
		esac
		[ -e "$GDN_STORE/volumes/$h" ]
		run gdn-rootfs delete "$h"
		[ "$status" -eq 0 ] || { echo "$p: recovery delete: $output"; false; }
		[ "$(jq -r .deleted <<<"$output")" = true ]
		[ ! -e "$GDN_STORE/volumes/$h" ]
		! grep -q -- "$h" /proc/self/mountinfo || { echo "$p: mount left: $(grep -- "$h" /proc/self/mountinfo)"; false; }
		[ -z "$(btrfs subvolume list -o "$GDN_STORE" | grep "volumes/$h")" ]
		[ "$(cat "$GDN_STORE/volumes/$nb/rootfs/etc/hostname")" = mine ]
		grep -q " $GDN_STORE/volumes/$nb/rootfs " /proc/self/mountinfo
	done
}
