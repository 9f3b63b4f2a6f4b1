#!/usr/bin/env bats
# cgroup v2. This project's machines are hybrid: v1 hierarchies hold the
# controllers and a v2 hierarchy is mounted at /sys/fs/cgroup/unified with
# only hugetlb in it. To run gdn on a pure-v2 /sys/fs/cgroup, each test works
# in a private mount namespace where the v2 hierarchy is bind-mounted over
# /sys/fs/cgroup: gdn-depot and libcontainer then see a cgroup2 mount and take
# their v2 paths (cgroup placement, stats, deletion). Limits cannot be tested
# this way: the memory, cpu and pids controllers stay bound to v1.

load helpers

setup() {
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		skip "the host is pure cgroup v2: the other suites already run on v2"
	fi
	[ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] ||
		skip "no cgroup v2 hierarchy at /sys/fs/cgroup/unified to test with"
	setup_work
}
teardown() { [ -z "${WORK:-}" ] || teardown_work; }

# in_v2 CMD...: run CMD where /sys/fs/cgroup is the cgroup v2 hierarchy.
in_v2() {
	unshare -m --propagation private bash -c 'mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup && "$@"' _ "$@"
}

@test "v2: create, exec, stats and delete place and remove the cgroup in the v2 hierarchy only" {
	h=$(handle v2)
	run in_v2 bash -c "gdn-depot create $h --rootfs $WORK/rootfs --init-bin $INIT | gdn-run create"
	[ "$status" -eq 0 ]
	[ -d /sys/fs/cgroup/unified/"$CG/$h" ]
	[ ! -e /sys/fs/cgroup/memory/"$CG/$h" ]
	pid=$(jq -r .pid <<<"$output")
	grep -qx "0::/$CG/$h" /proc/"$pid"/cgroup

	run in_v2 gdn-run exec "$h" --attach -- /bin/sh -c 'grep "^0::" /proc/self/cgroup'
	[ "$output" = "0::/$CG/$h" ]
	run in_v2 gdn-run stats "$h"
	[ "$(jq .cpu.usage_ns <<<"$output")" -gt 0 ]

	run in_v2 gdn-run delete "$h"
	[ "$status" -eq 0 ]
	[ ! -e /sys/fs/cgroup/unified/"$CG/$h" ]
	gdn-depot destroy "$h"
	assert_no_leaks "$h"
}

@test "v2: a limit whose controller is missing fails the create cleanly" {
	h=$(handle v2mem)
	run --separate-stderr in_v2 bash -c "gdn-depot create $h --rootfs $WORK/rootfs --init-bin $INIT --memory-limit 64M | gdn-run create"
	[ "$status" -ne 0 ]
	[[ "$(jq -r .error.message <<<"$stderr")" == *memory.max* ]]
	[ ! -e /sys/fs/cgroup/unified/"$CG/$h" ]
	[ ! -e "$GDN_RUNTIME_ROOT/$h" ]
}
