#!/usr/bin/env bats
# Processes under dadoo: detached exec, attach, wait, signal, TTYs, and
# processes that outlive every tool but their own dadoo.

load helpers

setup() {
	setup_work
	h=$(handle proc)
	mkc "$h" >/dev/null
}
teardown() { teardown_work; }

@test "exec starts a detached process with its FIFOs and wait gives its status" {
	run gdn-run exec "$h" --id p1 -- /bin/sh -c 'exit 3'
	[ "$status" -eq 0 ]
	[ "$(jq -r .process_id <<<"$output")" = p1 ]
	[ "$(jq -r .pid <<<"$output")" -gt 1 ]
	dir=$(jq -r .dir <<<"$output")
	[ "$dir" = "$GDN_DEPOT/$h/processes/p1" ]
	for f in stdin stdout stderr exit winsz; do [ -p "$dir/$f" ]; done
	run gdn-run wait "$h" p1
	[ "$(jq .exit_status <<<"$output")" -eq 3 ]
	[ "$(cat "$dir/exitcode")" = 3 ]
	[ -n "$(cat "$dir/pidfile")" ]
}

@test "exec --attach streams stdin, stdout and stderr and exits with the status" {
	run --separate-stderr bash -c "printf 'a\nb\n' | gdn-run exec $h --attach -- /bin/sh -c 'cat; echo to-err >&2; exit 4'"
	[ "$status" -eq 4 ]
	[ "$output" = "$(printf 'a\nb')" ]
	[ "$stderr" = to-err ]
	# the process's stdin reaches EOF with the caller's
	run bash -c "gdn-run exec $h --attach -- /bin/cat </dev/null"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "a process outlives its caller and can be reattached: output and status" {
	gdn-run exec "$h" --attach --id re -- /bin/sh -c 'sleep 2; echo done' >"$WORK/first" &
	caller=$!
	sleep 0.5
	kill -9 "$caller"
	wait "$caller" || true
	pgrep -f "dadoo.*exec $h .*/re\$" >/dev/null
	run gdn-run attach "$h" re
	[ "$status" -eq 0 ]
	[ "$output" = done ]
}

@test "a process that ended while nobody was attached reports its status and output at once" {
	gdn-run exec "$h" --id gone -- /bin/sh -c 'echo bye; exit 9' >/dev/null
	sleep 0.5
	run timeout 5 gdn-run attach "$h" gone
	[ "$status" -eq 9 ]
	[ "$output" = bye ]
	run timeout 5 gdn-run wait "$h" gone
	[ "$(jq .exit_status <<<"$output")" -eq 9 ]
}

@test "output nobody reads blocks the process beyond the pipe buffer; it is not lost" {
	gdn-run exec "$h" --id writer -- /bin/sh -c 'head -c 3000000 /dev/zero; echo finished >&2' >/dev/null
	sleep 1
	# still running: blocked on a full pipe (1 MiB), not killed by SIGPIPE
	[ ! -e "$GDN_DEPOT/$h/processes/writer/exitcode" ]
	# attaching drains it: every byte arrives and the process finishes
	[ "$(gdn-run attach "$h" writer 2>"$WORK/err" | wc -c)" -eq 3000000 ]
	[ "$(cat "$WORK/err")" = finished ]
	[ "$(gdn-run wait "$h" writer | jq .exit_status)" -eq 0 ]
}

@test "a missing executable is ExecutableNotFound and leaves no process directory" {
	run --separate-stderr gdn-run exec "$h" --id nope -- /no/such/binary
	[ "$status" -eq 3 ]
	[ "$(error_type "$stderr")" = ExecutableNotFound ]
	[ ! -e "$GDN_DEPOT/$h/processes/nope" ]
	run ! pgrep -f "dadoo.*/nope\$"
}

@test "a process id in use is refused, an invalid one rejected" {
	gdn-run exec "$h" --id dup -- /bin/true >/dev/null
	run --separate-stderr gdn-run exec "$h" --id dup -- /bin/true
	[ "$status" -eq 4 ]
	[ "$(error_type "$stderr")" = HandleInUse ]
	run --separate-stderr gdn-run exec "$h" --id ../../x -- /bin/true
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidHandle ]
	[ ! -e "$GDN_DEPOT/x" ]
	run --separate-stderr gdn-run attach "$h" nosuch
	[ "$status" -eq 3 ]
	[ "$(error_type "$stderr")" = ProcessNotFound ]
}

@test "signal term and kill end a process with 143 and 137" {
	gdn-run exec "$h" --id t -- /bin/sleep 100 >/dev/null
	gdn-run exec "$h" --id k -- /bin/sh -c "trap '' TERM; sleep 100" >/dev/null
	gdn-run signal "$h" t term
	gdn-run signal "$h" k kill
	[ "$(gdn-run wait "$h" t | jq .exit_status)" -eq 143 ]
	[ "$(gdn-run wait "$h" k | jq .exit_status)" -eq 137 ]
	# signalling an ended process does nothing
	gdn-run signal "$h" t kill
}

@test "user, working directory (created, owned by the user), env and rlimits" {
	run gdn-run exec "$h" --attach --user vcap --dir /home/vcap/work/deep --env X=1 --rlimit nofile=123 -- \
		/bin/sh -c 'id -u; pwd; stat -c %u .; echo $USER $X; ulimit -n'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1000 ]
	[ "${lines[1]}" = /home/vcap/work/deep ]
	[ "${lines[2]}" = 1000 ]
	[ "${lines[3]}" = "vcap 1" ]
	[ "${lines[4]}" = 123 ]
	run gdn-run exec "$h" --attach -- /bin/sh -c 'echo $USER $PATH; pwd'
	[ "${lines[0]}" = "root /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ]
	[ "${lines[1]}" = /root ]
}

@test "a terminal: tty, size from flags, and a Garden ProcessSpec on stdin" {
	run gdn-run exec "$h" --attach --tty --rows 50 --columns 132 -- /bin/sh -c 'tty; stty size'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == /dev/pts/* ]]
	[[ "${lines[1]}" == "50 132"* ]]
	run bash -c "echo '{\"path\":\"/bin/sh\",\"args\":[\"-c\",\"stty size\"],\"tty\":{\"window_size\":{\"columns\":100,\"rows\":30}}}' | gdn-run exec $h --attach"
	[ "$status" -eq 0 ]
	[[ "$output" == "30 100"* ]]
}

@test "delete with running processes ends every dadoo; each killed process has status 137 until the bundle goes" {
	gdn-run exec "$h" --id a -- /bin/sleep 1000 >/dev/null
	gdn-run exec "$h" --id b -- /bin/sh -c 'echo unread; sleep 1000' >/dev/null
	gdn-run exec "$h" --id c -- /bin/sh -c 'echo unread-and-exited' >/dev/null
	sleep 0.3
	[ "$(pgrep -fc "dadoo.*exec $h ")" -ge 2 ]
	run gdn-run delete "$h"
	[ "$status" -eq 0 ]
	[ "$(pgrep -fc "dadoo.*exec $h " || true)" -eq 0 ]
	[ "$(cat "$GDN_DEPOT/$h/processes/a/exitcode")" = 137 ]
	[ "$(cat "$GDN_DEPOT/$h/processes/b/exitcode")" = 137 ]
	[ "$(cat "$GDN_DEPOT/$h/processes/c/exitcode")" = 0 ]
	gdn-depot destroy "$h"
	[ ! -e "$GDN_DEPOT/$h" ]
	assert_no_leaks "$h"
}

@test "winsz resizes a running process's terminal" {
	dir=$(gdn-run exec "$h" --id w --tty -- /bin/sh -c 'sleep 1; stty size' | jq -r .dir)
	echo '{"columns":100,"rows":40}' >"$dir/winsz"
	run gdn-run attach "$h" w
	[ "$status" -eq 0 ]
	[[ "$output" == "40 100"* ]]
}
