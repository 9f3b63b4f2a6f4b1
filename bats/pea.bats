#!/usr/bin/env bats
# Peas: processes with their own rootfs and mount namespace that share the
# container's other namespaces, run as runtime containers of their own.

load helpers

setup() {
	setup_work
	h=$(handle pea)
	mkc "$h" --memory-limit 128M >/dev/null
	# the pea's image: a second rootfs, told apart by a marker file
	"$BATS_TEST_DIRNAME/../scripts/mk-rootfs" "$WORK/image" >/dev/null
	echo pea-image >"$WORK/image/etc/marker"
}
teardown() { teardown_work; }

ns_of() { # ns_of [exec flags...]: the namespace links of a process
	gdn-run exec "$h" --attach "$@" -- /bin/sh -c 'for n in mnt pid net ipc uts user; do readlink /proc/self/ns/$n; done'
}

@test "a pea has its own rootfs and mount namespace and shares the rest" {
	container=($(ns_of))
	pea=($(ns_of --image "$WORK/image"))
	[ "${pea[0]}" != "${container[0]}" ] # mnt
	for i in 1 2 3 4 5; do [ "${pea[$i]}" = "${container[$i]}" ]; done
	[ "$(gdn-run exec "$h" --attach --image "$WORK/image" -- /bin/cat /etc/marker)" = pea-image ]
	run gdn-run exec "$h" --attach -- /bin/cat /etc/marker
	[ "$status" -ne 0 ]
	# it sees the container's processes: the init is its pid 1
	[ "$(gdn-run exec "$h" --attach --image "$WORK/image" -- /bin/cat /proc/1/cmdline | tr -d '\0')" = /tmp/garden-init ]
}

@test "a pea is a runtime container while it runs, nested in the container's cgroup, and gone after" {
	gdn-run exec "$h" --id p1 --image "$WORK/image" -- /bin/sleep 2 >/dev/null
	run gdn-run list
	[ "$(jq -r '.containers[] | select(.handle=="p1") | .bundle' <<<"$output")" = "$GDN_DEPOT/$h/processes/p1" ]
	[ -f "$GDN_DEPOT/$h/processes/p1/config.json" ]
	[ "$(gdn-run ps p1 | jq '.pids | length')" -eq 1 ]
	[ -d /sys/fs/cgroup/memory/"$CG/$h"/p1 ]
	[ "$(gdn-run wait "$h" p1 | jq .exit_status)" -eq 0 ]
	for _ in $(seq 50); do [ ! -e "$GDN_RUNTIME_ROOT/p1" ] && break; sleep 0.1; done
	[ ! -e "$GDN_RUNTIME_ROOT/p1" ]
	[ ! -e /sys/fs/cgroup/memory/"$CG/$h"/p1 ]
}

@test "a pea with its own limits gets its own cgroup beside the container's" {
	gdn-run exec "$h" --id p2 --image "$WORK/image" --memory-limit 32M -- /bin/sleep 100 >/dev/null
	[ "$(cat /sys/fs/cgroup/memory/$CG/p2/memory.limit_in_bytes)" -eq $((32 << 20)) ]
	[ ! -e /sys/fs/cgroup/memory/"$CG/$h"/p2 ]
	gdn-run signal "$h" p2 kill
	[ "$(gdn-run wait "$h" p2 | jq .exit_status)" -eq 137 ]
}

@test "bind mounts are the pea's only; a Garden ProcessSpec with raw:// works" {
	mkdir -p "$WORK/share" && echo shared >"$WORK/share/f"
	run gdn-run exec "$h" --attach --image "$WORK/image" --bind-mount "$WORK/share:/tmp/share:ro" -- /bin/cat /tmp/share/f
	[ "$output" = shared ]
	run bash -c "echo '{\"path\":\"/bin/cat\",\"args\":[\"/etc/marker\"],\"image\":{\"uri\":\"raw://$WORK/image\"}}' | gdn-run exec $h --attach"
	[ "$output" = pea-image ]
	run --separate-stderr bash -c "echo '{\"path\":\"/bin/true\",\"image\":{\"uri\":\"docker:///busybox\"}}' | gdn-run exec $h"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
}

@test "deleting the container removes running peas: processes (status 137), dadoos, state, cgroups" {
	gdn-run exec "$h" --id p3 --image "$WORK/image" -- /bin/sleep 1000 >/dev/null
	gdn-run exec "$h" --id p4 --image "$WORK/image" --memory-limit 32M -- /bin/sleep 1000 >/dev/null
	run gdn-run delete "$h"
	[ "$status" -eq 0 ]
	for p in p3 p4; do
		[ ! -e "$GDN_RUNTIME_ROOT/$p" ]
		[ -z "$(ls -d /sys/fs/cgroup/*/$CG/$p /sys/fs/cgroup/*/$CG/$h/$p 2>/dev/null)" ]
	done
	[ "$(pgrep -fc "dadoo.*exec $h " || true)" -eq 0 ]
	# Each killed pea's status stays for a waiter until the bundle goes.
	for p in p3 p4; do
		[ "$(cat "$GDN_DEPOT/$h/processes/$p/exitcode")" = 137 ]
	done
	gdn-depot destroy "$h"
	assert_no_leaks "$h"
}
