#!/usr/bin/env bats
# The foundation as an operator uses it: gdn-depot and gdn-run in a pipeline.

load helpers

setup() { setup_work; }
# CLEANUP: what a test made outside its depot and runtime root (another
# instance's), undone even when the test fails.
teardown() {
	[ -z "${CLEANUP:-}" ] || eval "$CLEANUP" >/dev/null 2>&1 || true
	teardown_work
}

# crash_points FILE TOOL: the CrashPoints list of a tool, from its source.
crash_points() {
	sed -n '/^var CrashPoints/,/^}/p' "$BATS_TEST_DIRNAME/../$1" | grep -o "\"$2\.[^\"]*\"" | tr -d '"'
}

# cgroups_of PARENT HANDLE: the cgroup directories of HANDLE, one a line.
cgroups_of() { ls -d /sys/fs/cgroup/*/"$1/$2" /sys/fs/cgroup/"$1/$2" 2>/dev/null || true; }

# assert_running HANDLE PID: the neighbour still runs, in its whole cgroup.
assert_running() {
	[ "$(gdn-run state "$1" | jq -r .status)" = running ] || { echo "$1 is not running"; return 1; }
	[ "$(init_pid "$1")" = "$2" ] || { echo "$1 has another init"; return 1; }
	[ "$(cgroups_of "$CG" "$1" | wc -l)" -eq "$NEIGHBOUR_CGROUPS" ] || { echo "$1 lost cgroups: $(cgroups_of "$CG" "$1")"; return 1; }
	grep -qx "$2" /sys/fs/cgroup/pids/"$CG/$1"/cgroup.procs 2>/dev/null || grep -qx "$2" /sys/fs/cgroup/"$CG/$1"/cgroup.procs ||
		{ echo "$1's init left its cgroup"; return 1; }
}

@test "pipeline: depot create | run create gives a running container" {
	h=$(handle pipe)
	run mkc "$h"
	[ "$status" -eq 0 ]
	[ "$(jq -r .handle <<<"$output")" = "$h" ]
	pid=$(jq -r .pid <<<"$output")
	[ "$pid" -gt 1 ]
	[ "$(jq -r .bundle <<<"$output")" = "$GDN_DEPOT/$h" ]

	run gdn-run state "$h"
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = running ]
	[ "$(jq -r .pid <<<"$output")" = "$pid" ]
	[ "$(jq -r .stopped <<<"$output")" = false ]

	run gdn-run list
	[ "$(jq -r --arg h "$h" '.containers[] | select(.handle==$h) | .status' <<<"$output")" = running ]

	run gdn-run ps "$h"
	[ "$(jq -c .pids <<<"$output")" = "[$pid]" ]
	# the init is ours, mounted from the host, and sleeps
	[ "$(tr '\0' ' ' </proc/$pid/cmdline)" = "/tmp/garden-init " ]

	run gdn-run exec "$h" --attach -- /bin/sh -c 'echo hello; hostname'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = hello ]
	[ "${lines[1]}" = "$h" ]

	run gdn-run exec "$h" --attach -- /bin/sh -c 'exit 7'
	[ "$status" -eq 7 ]
}

@test "delete and destroy leave nothing behind, and are idempotent" {
	h=$(handle del)
	mkc "$h" --memory-limit 64M --pids-limit 50
	pid=$(init_pid "$h")
	[ -d /sys/fs/cgroup/memory/"$CG/$h" ]

	run gdn-run delete "$h"
	[ "$status" -eq 0 ]
	[ "$(jq -r .deleted <<<"$output")" = true ]
	[ ! -e /proc/"$pid" ] || [ "$(awk '/^State:/{print $2}' /proc/$pid/status)" = Z ]
	run gdn-depot destroy "$h"
	[ "$status" -eq 0 ]
	assert_no_leaks "$h"

	run gdn-run delete "$h"
	[ "$status" -eq 0 ]
	[ "$(jq -r .deleted <<<"$output")" = false ]
	run gdn-depot destroy "$h"
	[ "$status" -eq 0 ]
}

@test "a 64 MiB memory limit OOM-kills a 200 MiB allocation and events reports it" {
	h=$(handle oom)
	mkc "$h" --memory-limit 64M
	[ "$(cat /sys/fs/cgroup/memory/$CG/$h/memory.limit_in_bytes)" -eq $((64 << 20)) ]
	gdn-run events "$h" >"$WORK/events" &
	events_pid=$!
	sleep 0.3

	run gdn-run exec "$h" --attach -- /bin/dd if=/dev/zero of=/dev/null bs=200M count=1
	[ "$status" -eq 137 ]

	gdn-run delete "$h"
	wait "$events_pid"
	grep -q '"type":"oom"' "$WORK/events"
	tail -n1 "$WORK/events" | grep -q '"type":"exit"'
}

@test "a pids limit stops a fork bomb" {
	h=$(handle pids)
	mkc "$h" --pids-limit 20
	[ "$(cat /sys/fs/cgroup/pids/$CG/$h/pids.max)" = 20 ]
	run gdn-run exec "$h" --attach -- /bin/sh -c 'i=0; while [ $i -lt 100 ]; do sleep 30 >/dev/null 2>&1 & i=$((i+1)); done; wait'
	[ "$status" -ne 0 ]
	[[ "$output" == *"fork"* || "$output" == *"resource"* || "$output" == *"Resource"* ]]
	[ "$(cat /sys/fs/cgroup/pids/$CG/$h/pids.current)" -le 20 ]
	[ "$(gdn-run stats "$h" | jq .pids.limit)" -eq 20 ]
}

@test "cpu shares and memory limits are in the cgroup, and stats reads them" {
	h=$(handle cpu)
	mkc "$h" --cpu-shares 512 --memory-limit 128M
	[ "$(cat /sys/fs/cgroup/cpu/$CG/$h/cpu.shares)" = 512 ]
	run gdn-run stats "$h"
	[ "$status" -eq 0 ]
	[ "$(jq .memory.limit_bytes <<<"$output")" -eq $((128 << 20)) ]
	[ "$(jq .memory.total_usage_toward_limit <<<"$output")" -ge 0 ]
	[ "$(jq .pids.current <<<"$output")" -ge 1 ]
}

@test "stop TERMs every process but init, marks the container stopped, and it still runs processes" {
	h=$(handle stop)
	mkc "$h"
	pid=$(init_pid "$h")
	gdn-run exec "$h" --attach -- /bin/sh -c 'sleep 1000 >/dev/null 2>&1 & sleep 1000 >/dev/null 2>&1 &'
	[ "$(gdn-run ps "$h" | jq '.pids | length')" -eq 3 ]

	run gdn-run stop "$h"
	[ "$status" -eq 0 ]
	[ "$(gdn-run ps "$h" | jq -c .pids)" = "[$pid]" ]
	run gdn-run state "$h"
	[ "$(jq -r .stopped <<<"$output")" = true ]
	[ "$(jq -r .status <<<"$output")" = running ]
	run gdn-run exec "$h" --attach -- /bin/echo still-here
	[ "$output" = still-here ]
}

@test "stop --kill ends a process that ignores TERM" {
	h=$(handle stopkill)
	mkc "$h"
	gdn-run exec "$h" --attach -- /bin/sh -c "trap '' TERM; sleep 1000 >/dev/null 2>&1 &"
	[ "$(gdn-run ps "$h" | jq '.pids | length')" -eq 2 ]
	run gdn-run stop --kill "$h"
	[ "$status" -eq 0 ]
	[ "$(gdn-run ps "$h" | jq '.pids | length')" -eq 1 ]
}

@test "unprivileged: root inside, uid 4294967294 outside, isolated, cannot mount, kcore masked" {
	h=$(handle unpriv)
	mkc "$h"
	pid=$(init_pid "$h")
	[ "$(awk '/^Uid:/{print $2}' /proc/$pid/status)" = 4294967294 ]
	run gdn-run exec "$h" --attach -- id -u
	[ "$output" = 0 ]
	run gdn-run exec "$h" --attach -- /bin/cat /proc/self/uid_map
	[ "$(echo ${lines[0]})" = "0 4294967294 1" ]
	# no host process is visible: only the init, sh, ls and grep; pid 1 is our init
	run gdn-run exec "$h" --attach -- /bin/sh -c 'ls /proc | grep -c "^[0-9]"'
	[ "$output" -le 4 ]
	run gdn-run exec "$h" --attach -- /bin/cat /proc/1/cmdline
	[ "$output" = "$(printf '/tmp/garden-init\0')" ] || [ "$output" = /tmp/garden-init ]
	run gdn-run exec "$h" --attach -- /bin/mount -t tmpfs none /mnt
	[ "$status" -ne 0 ]
	# masked paths read as empty (this kernel has no /proc/kcore; where a
	# path exists on the host, the container must see nothing of it)
	for p in /proc/kcore /proc/timer_list /proc/keys /proc/sched_debug; do
		[ -e "$p" ] || continue
		run gdn-run exec "$h" --attach -- /bin/sh -c "wc -c < $p"
		[ "$output" = 0 ]
	done
	[ "$(wc -c </proc/timer_list)" -gt 0 ]
	run gdn-run exec "$h" --attach -- /bin/sh -c 'ls -A /sys/firmware | wc -l'
	[ "$output" = 0 ]
	# the unprivileged capability set: no CAP_SYS_ADMIN (bit 21)
	capeff=$(gdn-run exec "$h" --attach -- /bin/sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')
	[ $(( 0x$capeff & (1 << 21) )) -eq 0 ]
	[ "$capeff" = 00000000a80425fb ]
}

@test "privileged: no user namespace, the reference's capabilities within the host's, can mount" {
	h=$(handle priv)
	mkc "$h" --privileged
	pid=$(init_pid "$h")
	[ "$(awk '/^Uid:/{print $2}' /proc/$pid/status)" = 0 ]
	run gdn-run exec "$h" --attach -- /bin/cat /proc/self/uid_map
	[ "$(echo ${lines[0]})" = "0 0 4294967295" ]
	capeff=$(gdn-run exec "$h" --attach -- /bin/sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')
	[ $(( 0x$capeff & (1 << 21) )) -ne 0 ]
	# Guardian's list stops at CAP_AUDIT_READ (37)
	[ $(( 0x$capeff )) -eq $(( 0x$(awk '/^CapBnd/{print $2}' /proc/self/status) & ((1 << 38) - 1) )) ]
	run gdn-run exec "$h" --attach -- /bin/sh -c 'mkdir -p /mnt && mount -t tmpfs none /mnt && grep -c " /mnt " /proc/mounts'
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
}

@test "runc lists, inspects, signals and deletes a gdn container" {
	command -v runc >/dev/null || skip "runc not installed (scripts/install-deps installs it)"
	h=$(handle runc)
	mkc "$h"
	run runc --root "$GDN_RUNTIME_ROOT" list
	[[ "$output" == *"$h"*running*"$GDN_DEPOT/$h"* ]]
	run runc --root "$GDN_RUNTIME_ROOT" state "$h"
	[ "$(jq -r .status <<<"$output")" = running ]
	[ "$(jq -r .bundle <<<"$output")" = "$GDN_DEPOT/$h" ]
	runc --root "$GDN_RUNTIME_ROOT" exec "$h" /bin/true
	runc --root "$GDN_RUNTIME_ROOT" kill "$h" KILL
	for _ in $(seq 50); do
		[ "$(runc --root "$GDN_RUNTIME_ROOT" state "$h" | jq -r .status)" = stopped ] && break
		sleep 0.1
	done
	runc --root "$GDN_RUNTIME_ROOT" delete "$h"
	gdn-depot destroy "$h"
	assert_no_leaks "$h"
}

@test "two instances (GDN_TAG) run a container of one handle each; deleting one leaves the other in its cgroup" {
	h=$(handle twin)
	a=bta$$ b=btb$$
	CLEANUP="for t in $a $b; do GDN_TAG=\$t GDN_RUNTIME_ROOT=$WORK/run-\$t gdn-run delete $h; rmdir /sys/fs/cgroup/*/garden-\$t /sys/fs/cgroup/garden-\$t; done"
	for t in $a $b; do
		GDN_TAG=$t GDN_DEPOT=$WORK/depot-$t GDN_RUNTIME_ROOT=$WORK/run-$t mkc "$h" --memory-limit 64M
		[ "$(jq -r .linux.cgroupsPath "$WORK/depot-$t/$h/config.json")" = "/garden-$t/$h" ]
		[ -d "/sys/fs/cgroup/memory/garden-$t/$h" ] || [ -d "/sys/fs/cgroup/garden-$t/$h" ]
	done
	[ -z "$(cgroups_of garden "$h")" ]
	[ -z "$(cgroups_of "$CG" "$h")" ]
	n=$(cgroups_of "garden-$b" "$h" | wc -l)
	pid=$(GDN_TAG=$b GDN_RUNTIME_ROOT=$WORK/run-$b init_pid "$h")

	run env GDN_TAG=$a GDN_RUNTIME_ROOT=$WORK/run-$a gdn-run delete "$h"
	[ "$status" -eq 0 ]
	[ "$(jq -r .deleted <<<"$output")" = true ]
	[ -z "$(cgroups_of "garden-$a" "$h")" ]
	[ "$(GDN_TAG=$b GDN_RUNTIME_ROOT=$WORK/run-$b gdn-run state "$h" | jq -r .status)" = running ]
	[ "$(cgroups_of "garden-$b" "$h" | wc -l)" -eq "$n" ]
	grep -qx "$pid" "/sys/fs/cgroup/pids/garden-$b/$h/cgroup.procs" || grep -qx "$pid" "/sys/fs/cgroup/garden-$b/$h/cgroup.procs"

	# Under another tag (this test's own, $GDN_TAG: the "untagged" instance
	# here, so that nothing goes under the default /garden), gdn-run's
	# cgroup parent is /$CG: b's bundle is not its to run, and a delete
	# there touches nothing of b.
	run --separate-stderr gdn-run create "$h" --bundle "$WORK/depot-$b/$h"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	[ ! -e "$GDN_RUNTIME_ROOT/$h" ]
	run --separate-stderr env GDN_RUNTIME_ROOT=$WORK/run-$b gdn-run delete "$h"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	[ "$(cgroups_of "garden-$b" "$h" | wc -l)" -eq "$n" ]
	[ "$(GDN_TAG=$b GDN_RUNTIME_ROOT=$WORK/run-$b gdn-run state "$h" | jq -r .status)" = running ]

	run env GDN_TAG=$b GDN_RUNTIME_ROOT=$WORK/run-$b gdn-run delete "$h"
	[ "$(jq -r .deleted <<<"$output")" = true ]
	[ -z "$(cgroups_of "garden-$b" "$h")" ]
	[ ! -e /proc/"$pid" ] || [ "$(awk '/^State:/{print $2}' /proc/$pid/status)" = Z ]

	# The defaults follow the tag; explicit flags and env still win.
	[[ "$(env -u GDN_RUNTIME_ROOT GDN_TAG=$a gdn-run --help)" == *"/run/runc-$a"* ]]
	[[ "$(GDN_TAG=$a gdn-run --help)" == *"$GDN_RUNTIME_ROOT"* ]]
	[[ "$(env -u GDN_DEPOT GDN_TAG=$a gdn-depot --help)" == *"/var/run/gdn/depot-$a"* ]]
	[[ "$(env -u GDN_STORE GDN_TAG=$a gdn-rootfs --help)" == *"/var/lib/gdn/store-$a"* ]]
}

# Every point of gdn-run's CrashPoints (read from the source): kill there,
# recover with a second delete, and check the host.
@test "gdn-run killed at every crash point: a second delete leaves nothing, and a neighbour is untouched" {
	nb=$(handle nb)
	mkc "$nb" --memory-limit 64M --pids-limit 50
	nbpid=$(init_pid "$nb")
	NEIGHBOUR_CGROUPS=$(cgroups_of "$CG" "$nb" | wc -l)
	points=$(crash_points pkg/runtime/runtime.go gdn-run)
	[ "$(wc -w <<<"$points")" -ge 6 ]
	i=0
	for p in $points; do
		i=$((i + 1))
		h=$(handle crash$i)
		gdn-depot create "$h" --rootfs "$WORK/rootfs" --init-bin "$INIT" --memory-limit 32M >/dev/null
		case $p in
		gdn-run.create.*)
			run env GDN_TEST_CRASH_AT=$p gdn-run create "$h" --bundle "$GDN_DEPOT/$h"
			[ "$status" -eq 137 ] || { echo "$p: create exited $status: $output"; false; }
			;;
		gdn-run.delete.orphan-cgroup)
			# Only a half-made container takes the orphan path.
			run env GDN_TEST_CRASH_AT=gdn-run.create.cgroup gdn-run create "$h" --bundle "$GDN_DEPOT/$h"
			[ "$status" -eq 137 ]
			run env GDN_TEST_CRASH_AT=$p gdn-run delete "$h"
			[ "$status" -eq 137 ] || { echo "$p: delete exited $status: $output"; false; }
			;;
		*)
			gdn-run create "$h" --bundle "$GDN_DEPOT/$h" >/dev/null
			pid=$(init_pid "$h")
			run env GDN_TEST_CRASH_AT=$p gdn-run delete "$h"
			[ "$status" -eq 137 ] || { echo "$p: delete exited $status: $output"; false; }
			;;
		esac
		# The recovery path: a second delete, then destroy.
		run gdn-run delete "$h"
		[ "$status" -eq 0 ] || { echo "$p: recovery delete: $output"; false; }
		[ "$(jq -r .deleted <<<"$output")" = true ] || { echo "$p: recovery delete found nothing: $output"; false; }
		run gdn-run delete "$h"
		[ "$(jq -r .deleted <<<"$output")" = false ]
		gdn-depot destroy "$h" >/dev/null
		assert_no_leaks "$h" || { echo "after a kill at $p"; false; }
		[ -z "$(ls -A "$GDN_DEPOT/.trash")" ]
		[ -z "${pid:-}" ] || [ ! -e /proc/"$pid" ] || [ "$(awk '/^State:/{print $2}' /proc/$pid/status)" = Z ]
		pid=
		assert_running "$nb" "$nbpid" || { echo "neighbour after a kill at $p"; false; }
	done
}

@test "gdn-depot killed at every crash point: destroy or cleanup leaves nothing, and a neighbour is untouched" {
	nb=$(handle nbd)
	gdn-depot create "$nb" --rootfs "$WORK/rootfs" --init-bin "$INIT" --property k=v >/dev/null
	before=$(cat "$GDN_DEPOT/$nb/config.json" "$GDN_DEPOT/$nb/properties.json" | sha256sum)
	points=$(crash_points pkg/depot/depot.go gdn-depot)
	[ "$(wc -w <<<"$points")" -ge 5 ]
	i=0
	for p in $points; do
		i=$((i + 1))
		h=$(handle dcrash$i)
		case $p in
		gdn-depot.create.*)
			run env GDN_TEST_CRASH_AT=$p gdn-depot create "$h" --rootfs "$WORK/rootfs" --init-bin "$INIT"
			[ "$status" -eq 137 ] || { echo "$p: create exited $status: $output"; false; }
			# A bundle without its config.json is no container.
			[ $p = gdn-depot.create.config ] || [ -z "$(gdn-depot list | jq -r --arg h "$h" '.handles[] | select(. == $h)')" ]
			run gdn-depot destroy "$h"
			[ "$status" -eq 0 ]
			;;
		gdn-depot.destroy.*)
			for recover in destroy cleanup; do
				gdn-depot create "$h" --rootfs "$WORK/rootfs" --init-bin "$INIT" >/dev/null
				run env GDN_TEST_CRASH_AT=$p gdn-depot destroy "$h"
				[ "$status" -eq 137 ] || { echo "$p: destroy exited $status: $output"; false; }
				[ -n "$(ls -A "$GDN_DEPOT/.trash")" ]
				if [ $recover = destroy ]; then
					run gdn-depot destroy "$h"
					[ "$(jq -r .destroyed <<<"$output")" = false ]
				else
					run gdn-depot cleanup
					[ "$(jq -r .removed <<<"$output")" = 1 ]
				fi
				[ -z "$(ls -A "$GDN_DEPOT/.trash")" ]
			done
			;;
		esac
		[ ! -e "$GDN_DEPOT/$h" ] || { echo "$p: $GDN_DEPOT/$h left"; false; }
		[ -z "$(ls -A "$GDN_DEPOT/.trash")" ] || { echo "$p: trash holds $(ls -A "$GDN_DEPOT/.trash")"; false; }
		[ "$(cat "$GDN_DEPOT/$nb/config.json" "$GDN_DEPOT/$nb/properties.json" | sha256sum)" = "$before" ]
	done
}

# The issue's reproducer: gdn-run create SIGKILLed at random moments (a
# killed create once left a cpuset cgroup that delete no longer saw).
@test "gdn-run create killed at random moments: delete always leaves nothing" {
	for i in $(seq 20); do
		h=$(handle rnd$i)
		gdn-depot create "$h" --rootfs "$WORK/rootfs" --init-bin "$INIT" --memory-limit 32M >/dev/null
		gdn-run create "$h" --bundle "$GDN_DEPOT/$h" >/dev/null 2>&1 &
		sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
		kill -9 $! 2>/dev/null || true
		wait $! 2>/dev/null || true
		run gdn-run delete "$h"
		[ "$status" -eq 0 ] || { echo "kill $i: delete: $output"; false; }
		gdn-depot destroy "$h" >/dev/null
		assert_no_leaks "$h" || { echo "after kill $i"; false; }
	done
}
