#!/usr/bin/env bats
# -o text: every command has a text form (sizes for people); -o json keeps
# the keys.

load helpers

M=4294967294

setup() {
	setup_work
	export GDN_NET_STATE=$WORK/net GDN_NET_TABLE=gdnout_$$
	# a pool of this file's own, away from net.bats's 10.253.0.0/24
	NET=(--network-pool 10.253.248.0/30)
}

teardown() {
	gdn-net "${NET[@]}" down o1 >/dev/null 2>&1 || true
	[ -z "${PID:-}" ] || kill "$PID" 2>/dev/null || true
	gdn-rootfs delete "$(handle vol)" >/dev/null 2>&1 || true
	nft delete table ip "$GDN_NET_TABLE" 2>/dev/null || true
	for m in $(awk -v w="$WORK/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount "$m" 2>/dev/null || true
	done
	teardown_work
}

@test "gdn-run stats: text with sizes and durations; JSON keys unchanged" {
	h=$(handle st)
	mkc "$h" --memory-limit 64M >/dev/null
	run gdn-run -o text stats "$h"
	[ "$status" -eq 0 ]
	[[ "$output" != *"{"* ]] || { echo "$output"; return 1; }
	grep -Eq '^handle +'"$h"'$' <<<"$output"
	grep -Eq '^memory\.limit_bytes +64 MiB$' <<<"$output"
	grep -Eq '^memory\.usage_bytes +[0-9.]+ (B|KiB|MiB)$' <<<"$output"
	grep -Eq '^cpu\.usage_ns +[0-9.]+(µs|ms|s|ns)$' <<<"$output"
	run gdn-run -o json stats "$h"
	[ "$(jq -c '[.handle, .memory.limit_bytes, (.cpu | keys)]' <<<"$output")" = "[\"$h\",67108864,[\"system_ns\",\"usage_ns\",\"user_ns\"]]" ]
}

@test "gdn-rootfs capacity and stats: human sizes in text, bytes in JSON" {
	export GDN_STORE=$WORK/store
	gdn-rootfs init-store --store-size-bytes 1000000000 --uid-mapping 0:$M:1 --uid-mapping 1:1:$((M - 1)) \
		--gid-mapping 0:$M:1 --gid-mapping 1:1:$((M - 1)) >/dev/null
	run gdn-rootfs -o text capacity
	[ "$status" -eq 0 ]
	grep -Eq '^capacity +[0-9.]+ MiB$' <<<"$output" || { echo "$output"; return 1; }
	[ "$(gdn-rootfs -o json capacity | jq -c 'keys')" = '["capacity"]' ]
	v=$(handle vol)
	gdn-rootfs create "$WORK/rootfs" "$v" >/dev/null
	run gdn-rootfs -o text stats "$v"
	[ "$status" -eq 0 ]
	grep -Eq '^disk_usage\.total_bytes_used +[0-9.]+ (B|KiB|MiB)$' <<<"$output" || { echo "$output"; return 1; }
	grep -Eq '^disk_usage\.exclusive_bytes_used +[0-9.]+ (B|KiB|MiB)$' <<<"$output"
	[ "$(gdn-rootfs stats "$v" | jq -c '.disk_usage | keys')" = '["exclusive_bytes_used","total_bytes_used"]' ]
	gdn-rootfs delete "$v" >/dev/null
}

@test "gdn-net list and stats: one handle a line, sizes in text" {
	unshare -n sleep 1000 &
	PID=$!
	sleep 0.1
	echo "{\"Pid\":$PID}" | gdn-net "${NET[@]}" up o1 >/dev/null
	run gdn-net "${NET[@]}" -o text list
	[ "$status" -eq 0 ]
	[ "$output" = o1 ]
	[ "$(gdn-net "${NET[@]}" -o json list)" = '{"handles":["o1"]}' ]
	run gdn-net "${NET[@]}" -o text stats o1
	[ "$status" -eq 0 ]
	grep -Eq '^rx_bytes +[0-9.]+ (B|KiB)$' <<<"$output" || { echo "$output"; return 1; }
	grep -Eq '^tx_bytes +[0-9.]+ (B|KiB)$' <<<"$output"
	[ "$(gdn-net "${NET[@]}" stats o1 | jq -c 'keys')" = '["handle","rx_bytes","tx_bytes"]' ]
	gdn-net "${NET[@]}" down o1 >/dev/null
}

@test "gdn-run events: one line per event in text, JSON lines otherwise" {
	h=$(handle ev)
	mkc "$h" >/dev/null
	gdn-run -o text events "$h" >"$WORK/ev.txt" &
	ev=$!
	gdn-run events "$h" >"$WORK/ev.json" &
	evj=$!
	sleep 0.3
	gdn-run delete "$h" >/dev/null
	wait "$ev" "$evj"
	grep -Eq "^handle=$h time=.* type=exit$|^type=exit handle=$h time=" "$WORK/ev.txt" || { cat "$WORK/ev.txt"; return 1; }
	[ "$(jq -r .type "$WORK/ev.json")" = exit ]
}
