#!/usr/bin/env bats
# The foundation as an operator uses it: gdn-depot and gdn-run in a pipeline.

load helpers

setup() { setup_work; }
teardown() { teardown_work; }

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
	[ -d /sys/fs/cgroup/memory/garden/"$h" ]

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
	[ "$(cat /sys/fs/cgroup/memory/garden/$h/memory.limit_in_bytes)" -eq $((64 << 20)) ]
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
	[ "$(cat /sys/fs/cgroup/pids/garden/$h/pids.max)" = 20 ]
	run gdn-run exec "$h" --attach -- /bin/sh -c 'i=0; while [ $i -lt 100 ]; do sleep 30 >/dev/null 2>&1 & i=$((i+1)); done; wait'
	[ "$status" -ne 0 ]
	[[ "$output" == *"fork"* || "$output" == *"resource"* || "$output" == *"Resource"* ]]
	[ "$(cat /sys/fs/cgroup/pids/garden/$h/pids.current)" -le 20 ]
	[ "$(gdn-run stats "$h" | jq .pids.limit)" -eq 20 ]
}

@test "cpu shares and memory limits are in the cgroup, and stats reads them" {
	h=$(handle cpu)
	mkc "$h" --cpu-shares 512 --memory-limit 128M
	[ "$(cat /sys/fs/cgroup/cpu/garden/$h/cpu.shares)" = 512 ]
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

@test "privileged: no user namespace, the host's capabilities, can mount" {
	h=$(handle priv)
	mkc "$h" --privileged
	pid=$(init_pid "$h")
	[ "$(awk '/^Uid:/{print $2}' /proc/$pid/status)" = 0 ]
	run gdn-run exec "$h" --attach -- /bin/cat /proc/self/uid_map
	[ "$(echo ${lines[0]})" = "0 0 4294967295" ]
	capeff=$(gdn-run exec "$h" --attach -- /bin/sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')
	[ $(( 0x$capeff & (1 << 21) )) -ne 0 ]
	[ "$capeff" = "$(awk '/^CapBnd/{print $2}' /proc/self/status)" ]
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
