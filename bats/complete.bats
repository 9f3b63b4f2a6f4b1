#!/usr/bin/env bats
# Shell completion: handles and process ids, through cobra's hidden
# __complete command (what the bash, zsh and fish scripts call).

load helpers

M=4294967294

setup() {
	setup_work
	export GDN_NET_STATE=$WORK/net GDN_NET_TABLE=gdncmp_$$ GDN_STORE=$WORK/store
	NET=(--network-pool 10.253.248.4/30)
}

teardown() {
	gdn-net "${NET[@]}" down "$(handle n)" >/dev/null 2>&1 || true
	[ -z "${PID:-}" ] || kill "$PID" 2>/dev/null || true
	gdn-rootfs delete "$(handle v)" >/dev/null 2>&1 || true
	nft delete table ip "$GDN_NET_TABLE" 2>/dev/null || true
	for m in $(awk -v w="$WORK/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount "$m" 2>/dev/null || true
	done
	teardown_work
}

# completes WANT CMD...: CMD's completions list WANT, and no file names
# (directive 4, ShellCompDirectiveNoFileComp).
completes() {
	local want=$1; shift
	run --separate-stderr "$@"
	[ "$status" -eq 0 ] || { echo "$*: status $status: $output"; return 1; }
	grep -qx -- "$want" <<<"$output" || { echo "$*: no $want in: $output"; return 1; }
	[ "${lines[-1]}" = ":4" ] || { echo "$*: directive ${lines[-1]}"; return 1; }
}

@test "gdn-run and gdn-depot complete handles, gdn-run process ids" {
	h=$(handle c)
	mkc "$h" >/dev/null
	gdn-run exec "$h" --id web -- /bin/sleep 100 >/dev/null
	completes "$h" gdn-run __complete state ""
	completes "$h" gdn-run __complete exec "${h:0:6}"
	completes "$h" gdn-depot __complete show ""
	completes "$h" gdn-depot __complete props ""
	completes web gdn-run __complete attach "$h" ""
	completes web gdn-run __complete signal "$h" w
	completes term gdn-run __complete signal "$h" web ""
	# a prefix that matches nothing completes to nothing
	run --separate-stderr gdn-run __complete state zz-no-such
	[ "${lines[0]}" = ":4" ]
	# a create takes a new handle: nothing to offer
	run gdn-depot __complete create ""
	! grep -qx -- "$h" <<<"$output"
	# another depot, given on the line, is honoured
	run gdn-depot --depot "$WORK/none" __complete show ""
	! grep -qx -- "$h" <<<"$output"
}

@test "gdn-net and gdn-rootfs complete their handles; every tool has a completion command" {
	unshare -n sleep 1000 &
	PID=$!
	sleep 0.1
	n=$(handle n)
	echo "{\"Pid\":$PID}" | gdn-net "${NET[@]}" up "$n" >/dev/null
	completes "$n" gdn-net "${NET[@]}" __complete down ""
	completes "$n" gdn-net "${NET[@]}" __complete stats ""
	gdn-net "${NET[@]}" down "$n" >/dev/null

	gdn-rootfs init-store --store-size-bytes 1000000000 --uid-mapping 0:$M:1 --uid-mapping 1:1:$((M - 1)) \
		--gid-mapping 0:$M:1 --gid-mapping 1:1:$((M - 1)) >/dev/null
	v=$(handle v)
	gdn-rootfs create "$WORK/rootfs" "$v" >/dev/null
	completes "$v" gdn-rootfs __complete stats ""
	gdn-rootfs delete "$v" >/dev/null

	for t in gdn-rootfs gdn-rootfs-fetch gdn-depot gdn-run gdn-net gdn-server gdn-leakcheck; do
		for sh in bash zsh fish; do
			run "$t" completion "$sh"
			[ "$status" -eq 0 ] && [[ "$output" == *"$t"* ]] || { echo "$t completion $sh: $status"; return 1; }
		done
	done
}
