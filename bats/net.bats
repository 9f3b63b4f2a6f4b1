#!/usr/bin/env bats
# gdn-net: container networks. Stand-in containers are processes in network
# namespaces of their own (unshare -n); nothing leaves this machine.

load helpers

setup() {
	setup_work
	export GDN_NET_STATE=$WORK/net
	# a table and a pool of our own, away from the default ones that other
	# gdn-nets on this host may be using (their devices carry their table's
	# name in their alias, so our cleanup leaves them alone)
	export GDN_NET_TABLE=gdnbats_$$
	NET=(--network-pool 10.253.0.0/24)
	PIDS=()
}

teardown() {
	[ -z "${HOSTNC:-}" ] || kill "$HOSTNC" 2>/dev/null || true
	if [ -n "${INET:-}" ]; then
		ip netns pids "$INET" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$INET" 2>/dev/null || true
		ip link del "gi$$-h" 2>/dev/null || true
	fi
	for st in "$GDN_NET_STATE"/containers/*.json; do
		[ -e "$st" ] && gdn-net "${NET[@]}" down "$(basename "$st" .json)" >/dev/null 2>&1
	done
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	local leaks=0
	# the network's part; teardown_work deletes the containers and checks the rest
	leak_check --depot '' --runtime-root '' --cgroup-parent '' || leaks=1
	# then take away what no state names any more (a test that removed a
	# state and failed before its cleanup): our devices would outlive us
	for _ in 1 2 3; do gdn-net "${NET[@]}" cleanup >/dev/null 2>&1 && break; done
	nft delete table ip "$GDN_NET_TABLE" 2>/dev/null || true
	if [ -n "${TAGGED_STATE:-}" ]; then
		rm -rf "$TAGGED_STATE"
		nft delete table ip "gdn-${TAGGED_STATE##*net-}" 2>/dev/null || true
	fi
	teardown_work || leaks=1
	return $leaks
}

# standin: start a process in a new network namespace; its pid in $PID.
standin() {
	unshare -n sleep 1000 &
	PID=$!
	PIDS+=("$PID")
	sleep 0.1
}

in_ns() { local pid=$1; shift; nsenter -t "$pid" -n "$@"; }

# no_net_leftovers: no device, rule or allocation of ours remains
# (devices by their alias: other test runs may have bridges in the same
# range, and they are not ours to judge)
no_net_leftovers() {
	if ip -d link | grep -q "alias gdn-net $GDN_NET_TABLE"; then false; fi
	if nft list table ip "$GDN_NET_TABLE" 2>/dev/null | grep -q 'chain c-'; then false; fi
	if nft list table ip "$GDN_NET_TABLE" 2>/dev/null | grep -q 'subnet 10.253.'; then false; fi
	[ "$(jq '.allocated | length' "$GDN_NET_STATE/subnets.json")" -eq 0 ]
	[ -z "$(ls "$GDN_NET_STATE/containers")" ]
}

@test "two containers get their own /30s, are reachable and reach each other, and down removes all" {
	standin; a=$PID
	standin; b=$PID
	run bash -c "echo '{\"Pid\":$a}' | gdn-net ${NET[*]} up na"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.properties["garden.network.container-ip"]' <<<"$output")" = 10.253.0.2 ]
	[ "$(jq -r '.properties["garden.network.host-ip"]' <<<"$output")" = 10.253.0.1 ]
	[ "$(jq -r '.properties["garden.network.mapped-ports"]' <<<"$output")" = "[]" ]
	run bash -c "echo '{\"Pid\":$b}' | gdn-net ${NET[*]} up nb"
	[ "$(jq -r '.properties["garden.network.container-ip"]' <<<"$output")" = 10.253.0.6 ]

	[ "$(in_ns "$a" ip -4 -o addr show | awk '$2!="lo"{print $4}')" = 10.253.0.2/30 ]
	in_ns "$a" ip route | grep -q 'default via 10.253.0.1'
	# the host reaches both (containers may not open connections to it)
	busybox ping -c1 -W2 10.253.0.2 >/dev/null
	busybox ping -c1 -W2 10.253.0.6 >/dev/null
	in_ns "$b" busybox nc -l -p 8080 -e echo hello-from-b </dev/null >/dev/null 2>&1 3>&- &
	sleep 0.3
	[ "$(in_ns "$a" busybox nc 10.253.0.6 8080 </dev/null)" = hello-from-b ]
	nft list table ip "$GDN_NET_TABLE" | grep -q 'masquerade comment "subnet 10.253.0.0/30"'

	gdn-net "${NET[@]}" down na
	gdn-net "${NET[@]}" down nb
	run gdn-net "${NET[@]}" down nb
	[ "$(jq .down <<<"$output")" = false ]
	no_net_leftovers
}

@test "a static IP is honoured; a clash is an error that leaves nothing" {
	standin; a=$PID
	standin; b=$PID
	run bash -c "echo '{\"Pid\":$a,\"network\":\"10.80.3.6\"}' | gdn-net ${NET[*]} up sa"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.properties["garden.network.container-ip"]' <<<"$output")" = 10.80.3.6 ]
	busybox ping -c1 -W2 10.80.3.6 >/dev/null
	run --separate-stderr bash -c "echo '{\"Pid\":$b,\"network\":\"10.80.3.6\"}' | gdn-net ${NET[*]} up sb"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	[ ! -e "$GDN_NET_STATE/containers/sb.json" ]
	[ "$(in_ns "$b" ip -br link | grep -c '^w' || true)" -eq 0 ]
	run --separate-stderr bash -c "echo '{\"Pid\":$b,\"network\":\"10.80.3.5\"}' | gdn-net ${NET[*]} up sc"
	[ "$status" -eq 5 ]   # the gateway
	gdn-net "${NET[@]}" down sa
	if ip -br link | grep -q wbrdg-0a500304; then false; fi
}

@test "an exhausted pool is PoolExhausted and leaves nothing" {
	standin; a=$PID
	standin; b=$PID
	echo "{\"Pid\":$a}" | gdn-net --network-pool 10.253.9.0/30 up ea >/dev/null
	run --separate-stderr bash -c "echo '{\"Pid\":$b}' | gdn-net --network-pool 10.253.9.0/30 up eb"
	[ "$status" -eq 6 ]
	[ "$(error_type "$stderr")" = PoolExhausted ]
	[ ! -e "$GDN_NET_STATE/containers/eb.json" ]
	gdn-net --network-pool 10.253.9.0/30 down ea
}

@test "the plugin contract: --action up with {\"Pid\":N}, --action down with null" {
	standin; a=$PID
	run bash -c "echo '{\"Pid\":$a,\"Properties\":{},\"netin\":[],\"netout_rules\":[]}' | gdn-net ${NET[*]} --action up --handle ca"
	[ "$status" -eq 0 ]
	# the contract's keys, in its order (garden-external-networker's), then the external IP
	[ "$(jq -r '.properties | keys_unsorted | join(",")' <<<"$output")" = "garden.network.container-ip,garden.network.host-ip,garden.network.mapped-ports,garden.network.interface,garden.network.external-ip" ]
	[ "$(jq -r '.properties["garden.network.interface"]' <<<"$output")" = "$(gdn-net "${NET[@]}" show ca | jq -r .container_interface)" ]
	[ "$(jq -r '.dns_servers | type' <<<"$output")" = array ]
	[ "$(jq -c '.search_domains' <<<"$output")" = '[]' ]
	run bash -c "echo '{\"HostIP\":\"192.0.2.1\",\"HostPort\":0,\"ContainerIP\":\"10.253.0.2\",\"ContainerPort\":8080}' | gdn-net ${NET[*]} --port-pool-start 40100 --port-pool-size 2 --action net-in --handle ca"
	[ "$status" -eq 0 ]
	[ "$(jq -c . <<<"$output")" = '{"host_port":40100,"container_port":8080}' ]
	run bash -c "echo null | gdn-net ${NET[*]} --port-pool-start 40100 --port-pool-size 2 --action down --handle ca"
	[ "$status" -eq 0 ]
	no_net_leftovers
	run --separate-stderr gdn-net --action bogus --handle ca
	[ "$status" -eq 2 ]
}

@test "--pid-fd: up makes what needs no pid first and takes the pid from the fd; an fd closed without one fails and leaves nothing" {
	standin; a=$PID
	# the pid comes later, on fd 3; stdin has none
	mkfifo "$WORK/pidfifo"
	echo '{}' | gdn-net "${NET[@]}" --pid-fd 3 up pf 3<"$WORK/pidfifo" >"$WORK/up.out" 2>&1 &
	up=$!
	exec 4>"$WORK/pidfifo"
	# meanwhile: the state, the firewall and the bridge, no veth
	for _ in $(seq 100); do [ -e "$GDN_NET_STATE/containers/pf.json" ] && ip link show "$(jq -r .bridge "$GDN_NET_STATE/containers/pf.json")" >/dev/null 2>&1 && break; sleep 0.05; done
	ip link show "$(jq -r .bridge "$GDN_NET_STATE/containers/pf.json")" >/dev/null
	nft list table ip "$GDN_NET_TABLE" | grep -q "chain $(jq -r .chain "$GDN_NET_STATE/containers/pf.json")"
	if ip link show "$(jq -r .host_interface "$GDN_NET_STATE/containers/pf.json")" >/dev/null 2>&1; then false; fi
	echo "$a" >&4
	exec 4>&-
	wait "$up" || { cat "$WORK/up.out"; false; }
	[ "$(in_ns "$a" ip -4 -o addr show | grep -c 'inet 10\.253\.')" -eq 1 ]
	gdn-net "${NET[@]}" down pf >/dev/null
	no_net_leftovers
	# the writer goes away without a pid: InvalidSpec, and nothing is left
	run --separate-stderr bash -c "echo '{}' | gdn-net ${NET[*]} --pid-fd 3 up pf 3</dev/null"
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"closed without a pid"* ]]
	no_net_leftovers
	[ ! -e "$GDN_NET_STATE/containers/pf.json" ]
	[ "$(jq '.allocated | length' "$GDN_NET_STATE/subnets.json")" -eq 0 ]
}

@test "the pipeline: a real container gets its network from gdn-run create's output" {
	h=$(handle net)
	gdn-depot create "$h" --rootfs "$WORK/rootfs" --init-bin "$INIT" | gdn-run create | gdn-net "${NET[@]}" up >/dev/null
	run gdn-run exec "$h" --attach -- /bin/sh -c 'ip -4 -o addr show | grep -v " lo "; ip route'
	[ "$status" -eq 0 ]
	[[ "$output" == *"10.253.0.2/30"* ]]
	[[ "$output" == *"default via 10.253.0.1"* ]]
	busybox ping -c1 -W2 10.253.0.2 >/dev/null
	gdn-net "${NET[@]}" down "$h"
	no_net_leftovers
}

@test "net-in: a server in the container is reachable from the host; pool ports are distinct and reused last" {
	standin; a=$PID
	echo "{\"Pid\":$a}" | gdn-net "${NET[@]}" --port-pool-start 40000 --port-pool-size 3 up ia >/dev/null
	P=(--port-pool-start 40000 --port-pool-size 3)
	run gdn-net "${NET[@]}" "${P[@]}" net-in ia --container-port 8080
	[ "$(jq .host_port <<<"$output")" -eq 40000 ]
	[ "$(jq .container_port <<<"$output")" -eq 8080 ]
	[ "$(gdn-net "${NET[@]}" "${P[@]}" net-in ia --host-port 0 --container-port 9000 | jq .host_port)" -eq 40001 ]
	ext=$(gdn-net "${NET[@]}" show ia >/dev/null; ip -4 -o route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
	in_ns "$a" busybox nc -l -p 8080 -e echo hello-via-net-in </dev/null >/dev/null 2>&1 3>&- &
	sleep 0.3
	[ "$(busybox nc "$ext" 40000 </dev/null)" = hello-via-net-in ]
	[ "$(gdn-net "${NET[@]}" show ia | jq -c .mapped_ports)" = '[{"HostPort":40000,"ContainerPort":8080},{"HostPort":40001,"ContainerPort":9000}]' ]

	# a host port another container maps is refused, and changes nothing
	standin; b=$PID
	echo "{\"Pid\":$b}" | gdn-net "${NET[@]}" "${P[@]}" up ib >/dev/null
	run --separate-stderr gdn-net "${NET[@]}" "${P[@]}" net-in ib --host-port 40000
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	[ "$(gdn-net "${NET[@]}" show ib | jq -c .mapped_ports)" = '[]' ]

	gdn-net "${NET[@]}" "${P[@]}" down ia
	if nft list table ip "$GDN_NET_TABLE" | grep -q 'handle ia'; then false; fi
	# released ports go to the back: the never-used 40002 comes first
	[ "$(gdn-net "${NET[@]}" "${P[@]}" net-in ib | jq .host_port)" -eq 40002 ]
	[ "$(gdn-net "${NET[@]}" "${P[@]}" net-in ib | jq .host_port)" -eq 40000 ]
	gdn-net "${NET[@]}" "${P[@]}" down ib
	no_net_leftovers
}

# internet: a namespace standing in for the internet, 198.51.100.2 (a
# documentation range), routed from the host over a veth.
internet() {
	INET=gdn-inet-$$
	ip netns add "$INET"
	ip link add "gi$$-h" type veth peer name "gi$$-n"
	ip link set "gi$$-n" netns "$INET"
	ip addr add 198.51.100.1/24 dev "gi$$-h"
	ip link set "gi$$-h" up
	ip netns exec "$INET" ip addr add 198.51.100.2/24 dev "gi$$-n"
	ip netns exec "$INET" ip link set "gi$$-n" up
	ip netns exec "$INET" ip link set lo up
	ip netns exec "$INET" ip route add default via 198.51.100.1
}

# serve PORT: a TCP server on the internet answering "hello PORT" (forever).
serve() {
	# its stdio away from bats, which waits for every holder of its fds
	ip netns exec "$INET" busybox nc -ll -p "$1" -e echo "hello $1" </dev/null >/dev/null 2>&1 3>&- &
}

@test "the container reaches the internet through NAT; --deny-network blocks it; net-out opens one port only" {
	internet
	serve 8080
	serve 8081
	sleep 0.3
	standin; a=$PID
	echo "{\"Pid\":$a}" | gdn-net "${NET[@]}" up oa >/dev/null
	[ "$(in_ns "$a" busybox nc -w 2 198.51.100.2 8080 </dev/null)" = "hello 8080" ]
	gdn-net "${NET[@]}" down oa

	D=(--deny-network 198.51.100.0/24)
	standin; b=$PID
	echo "{\"Pid\":$b}" | gdn-net "${NET[@]}" "${D[@]}" up ob >/dev/null
	run in_ns "$b" busybox nc -w 2 198.51.100.2 8080 </dev/null
	[ "$output" != "hello 8080" ]
	echo '{"protocol":1,"networks":[{"start":"198.51.100.2","end":"198.51.100.2"}],"ports":[{"start":8080,"end":8080}]}' |
		gdn-net "${NET[@]}" "${D[@]}" net-out ob >/dev/null
	[ "$(in_ns "$b" busybox nc -w 2 198.51.100.2 8080 </dev/null)" = "hello 8080" ]
	run in_ns "$b" busybox nc -w 2 198.51.100.2 8081 </dev/null
	[ "$output" != "hello 8081" ]
	nft list chain ip "$GDN_NET_TABLE" "$(gdn-net "${NET[@]}" show ob | jq -r .chain)" | grep -q 'comment "handle ob"'
	gdn-net "${NET[@]}" down ob
	if nft list table ip "$GDN_NET_TABLE" | grep -q 'handle ob'; then false; fi
	no_net_leftovers
}

@test "containers cannot open connections to the host unless --allow-host-access" {
	# Every table's input hook sees the packet: an older gdn-net's table,
	# whose reject matched every wbrdg-* bridge, would reject ours too
	# (tables now match only their own bridges: the "bridges" set).
	for t in $(nft list tables ip | awk '{print $3}'); do
		if [ "$t" != "$GDN_NET_TABLE" ] && nft list table ip "$t" | grep -q 'iifname "wbrdg-\*" reject'; then
			skip "table ip $t (another gdn-net) rejects connections from containers to the host"
		fi
	done
	standin; a=$PID
	echo "{\"Pid\":$a}" | gdn-net "${NET[@]}" up ha >/dev/null
	busybox nc -ll -p 18080 -e echo hello-host </dev/null >/dev/null 2>&1 3>&- &
	HOSTNC=$!
	sleep 0.3
	run in_ns "$a" busybox nc -w 2 10.253.0.1 18080 </dev/null
	[ "$output" != hello-host ]
	# the host can still reach the container (replies are established)
	busybox ping -c1 -W2 10.253.0.2 >/dev/null
	gdn-net "${NET[@]}" down ha
	standin; b=$PID
	echo "{\"Pid\":$b}" | gdn-net "${NET[@]}" --allow-host-access up hb >/dev/null
	[ "$(in_ns "$b" busybox nc -w 2 10.253.0.1 18080 </dev/null)" = hello-host ]
	gdn-net "${NET[@]}" --allow-host-access down hb
}

@test "net-out rules are validated as Guardian does; 3000 rules go in one bulk call" {
	standin; a=$PID
	echo "{\"Pid\":$a}" | gdn-net "${NET[@]}" up va >/dev/null
	for bad in '{"protocol":4}' '{"protocol":0,"ports":[{"start":80,"end":80}]}' '{"protocol":3,"ports":[{"start":1,"end":2}]}' '{"protocol":1,"ports":[{"start":9,"end":2}]}'; do
		run --separate-stderr bash -c "echo '$bad' | gdn-net ${NET[*]} net-out va"
		[ "$status" -eq 5 ]
		[ "$(error_type "$stderr")" = InvalidSpec ]
	done
	jq -nc '[range(3000) | {protocol: 1, networks: [{start: "10.99.\(. / 250 | floor).\(. % 250 + 1)", end: "10.99.\(. / 250 | floor).\(. % 250 + 1)"}], ports: [{start: 443, end: 443}]}]' >"$WORK/rules.json"
	run bash -c "gdn-net ${NET[*]} bulk-net-out va <$WORK/rules.json"
	[ "$status" -eq 0 ]
	[ "$(nft list chain ip "$GDN_NET_TABLE" "$(gdn-net "${NET[@]}" show va | jq -r .chain)" | grep -c 'dport 443')" -eq 3000 ]
	gdn-net "${NET[@]}" down va
	no_net_leftovers
}

@test "dns files, stats and list; cleanup after a container died removes its network" {
	standin; a=$PID
	mkdir "$WORK/dns"
	echo "{\"Pid\":$a}" | gdn-net "${NET[@]}" --dns-dir "$WORK/dns" --dns-server 10.253.200.1 --additional-dns-server 10.253.200.2 \
		--additional-host-entry "10.253.200.9 extra" up da >/dev/null
	[ "$(cat "$WORK/dns/resolv.conf")" = "$(printf 'nameserver 10.253.200.1\nnameserver 10.253.200.2')" ]
	[ "$(cat "$WORK/dns/hosts")" = "$(printf '127.0.0.1 localhost\n10.253.0.2 da\n10.253.200.9 extra')" ]
	busybox ping -c2 -W2 10.253.0.2 >/dev/null
	run gdn-net "${NET[@]}" stats da
	[ "$(jq .rx_bytes <<<"$output")" -gt 0 ]
	[ "$(jq .tx_bytes <<<"$output")" -gt 0 ]
	[ "$(gdn-net "${NET[@]}" list | jq -c .handles)" = '["da"]' ]
	# the container dies: its veth goes with its namespace; cleanup removes the rest
	kill "$a"; wait "$a" 2>/dev/null || true
	sleep 0.3
	run gdn-net "${NET[@]}" cleanup
	[ "$status" -eq 0 ]
	[[ "$(jq -r '.removed[]' <<<"$output")" == *"network of da"* ]]
	[ ! -e "$WORK/dns/hosts" ]
	no_net_leftovers
}

# rate_in PID IP BYTES: bytes/s of a transfer from the host into the
# container (its server writes what it receives to a file, and ends at EOF).
# busybox nc -e on both sides: a plain nc stops at EOF on its own stdin,
# and would cut the transfer short.
rate_in() {
	local pid=$1 ip=$2 n=$3 sp t0 t1
	rm -f "$WORK/in"
	in_ns "$pid" busybox nc -l -p 5001 -e sh -c "cat >$WORK/in" </dev/null >/dev/null 2>&1 3>&- &
	sp=$!
	sleep 0.3
	t0=$(date +%s%N)
	busybox nc "$ip" 5001 -e head -c "$n" /dev/zero </dev/null 3>&-
	wait "$sp"
	t1=$(date +%s%N)
	[ "$(stat -c %s "$WORK/in")" -eq "$n" ] || { echo "received $(stat -c %s "$WORK/in") of $n bytes"; return 1; }
	echo $((n * 1000000000 / (t1 - t0)))
}

# rate_out PID IP BYTES: bytes/s of a transfer from the container to the
# host (its server sends BYTES and closes).
rate_out() {
	local pid=$1 ip=$2 n=$3 sp t0 t1
	in_ns "$pid" busybox nc -l -p 5002 -e head -c "$n" /dev/zero </dev/null >/dev/null 2>&1 3>&- &
	sp=$!
	sleep 0.3
	t0=$(date +%s%N)
	busybox nc "$ip" 5002 -e sh -c "cat >$WORK/out" </dev/null 3>&-
	t1=$(date +%s%N)
	wait "$sp" || true
	[ "$(stat -c %s "$WORK/out")" -eq "$n" ] || { echo "received $(stat -c %s "$WORK/out") of $n bytes"; return 1; }
	echo $((n * 1000000000 / (t1 - t0)))
}

# within PERCENT GOT WANT: |GOT - WANT| <= PERCENT% of WANT
within() {
	local d=$(($2 - $3))
	[ $((${d#-} * 100)) -le $(($1 * $3)) ] || { echo "$2 is not within $1% of $3"; return 1; }
}

@test "bandwidth: up's limits.bandwidth_limits caps each way within 25%; gdn-net bandwidth changes and removes it; down removes the ifb" {
	standin; a=$PID
	rate=1048576 n=$((5 * 1024 * 1024))
	echo "{\"Pid\":$a,\"limits\":{\"bandwidth_limits\":{\"rate\":$rate,\"burst\":65536}}}" | gdn-net "${NET[@]}" up ba >/dev/null
	[ "$(gdn-net "${NET[@]}" show ba | jq -c .bandwidth_limits)" = "{\"rate\":$rate,\"burst\":65536}" ]
	hostif=$(gdn-net "${NET[@]}" show ba | jq -r .host_interface)
	ifb=$(gdn-net "${NET[@]}" show ba | jq -r .ifb_interface)
	tc qdisc show dev "$hostif" | grep -q 'tbf'
	tc qdisc show dev "$ifb" | grep -q 'tbf'
	ip -d link show dev "$ifb" | grep -q "alias gdn-net $GDN_NET_TABLE ba"

	in=$(rate_in "$a" 10.253.0.2 "$n")
	out=$(rate_out "$a" 10.253.0.2 "$n")
	echo "# limit $rate B/s: into the container $in B/s, out of it $out B/s" >&3
	within 25 "$in" "$rate"
	within 25 "$out" "$rate"

	# no limit: the same transfers run far faster (so the test can fail)
	gdn-net "${NET[@]}" bandwidth ba --rate 0 --burst 0 >/dev/null
	[ "$(gdn-net "${NET[@]}" show ba | jq -c .bandwidth_limits)" = null ]
	[ ! -e "/sys/class/net/$ifb" ]
	if tc qdisc show dev "$hostif" | grep -q tbf; then false; fi
	fin=$(rate_in "$a" 10.253.0.2 "$n")
	fout=$(rate_out "$a" 10.253.0.2 "$n")
	echo "# no limit: into the container $fin B/s, out of it $fout B/s" >&3
	[ "$fin" -gt $((rate * 4)) ]
	[ "$fout" -gt $((rate * 4)) ]

	# set by the command: 2 MiB/s
	rate2=2097152
	run gdn-net "${NET[@]}" bandwidth ba --rate "$rate2" --burst 65536
	[ "$status" -eq 0 ]
	[ "$(jq -c .bandwidth_limits <<<"$output")" = "{\"rate\":$rate2,\"burst\":65536}" ]
	out2=$(rate_out "$a" 10.253.0.2 $((2 * n)))
	echo "# limit $rate2 B/s by the command: out of the container $out2 B/s" >&3
	within 25 "$out2" "$rate2"

	gdn-net "${NET[@]}" down ba
	[ ! -e "/sys/class/net/$ifb" ]
	no_net_leftovers
}

@test "bandwidth: bad limits are InvalidSpec and change nothing" {
	standin; a=$PID
	run --separate-stderr bash -c "echo '{\"Pid\":$a,\"limits\":{\"bandwidth_limits\":{\"rate\":1000,\"burst\":100}}}' | gdn-net ${NET[*]} up bb"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	[[ "$stderr" == *"burst 100 bytes is below one full frame"* ]]
	[ ! -e "$GDN_NET_STATE/containers/bb.json" ]
	[ "$(in_ns "$a" ip -br link | grep -c '^w' || true)" -eq 0 ]
	echo "{\"Pid\":$a}" | gdn-net "${NET[@]}" up bb >/dev/null
	run --separate-stderr gdn-net "${NET[@]}" bandwidth bb --rate 0 --burst 65536
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	run --separate-stderr gdn-net "${NET[@]}" bandwidth bb --rate 1000
	[ "$status" -eq 2 ]
	run --separate-stderr gdn-net "${NET[@]}" bandwidth nosuch --rate 1000000 --burst 65536
	[ "$status" -eq 3 ]
	[ "$(gdn-net "${NET[@]}" show bb | jq -c '[.bandwidth_limits, .ifb_interface]')" = '[null,null]' ]
	if ip -d link show type ifb | grep -q "alias gdn-net $GDN_NET_TABLE bb"; then false; fi
	gdn-net "${NET[@]}" down bb
	no_net_leftovers
}

@test "setup makes the table and base chains, idempotently, and follows --allow-host-access" {
	run gdn-net setup
	[ "$status" -eq 0 ]
	[ "$(jq -r .table <<<"$output")" = "ip $GDN_NET_TABLE" ]
	first=$(nft list table ip "$GDN_NET_TABLE")
	for c in postrouting prerouting output forward input; do
		grep -q "chain $c {" <<<"$first"
	done
	grep -q 'reject with icmp host-prohibited comment "gdn base"' <<<"$first"
	gdn-net setup >/dev/null
	[ "$(nft list table ip "$GDN_NET_TABLE")" = "$first" ]
	gdn-net --allow-host-access setup >/dev/null
	if nft list table ip "$GDN_NET_TABLE" | grep -q reject; then false; fi
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
	run --separate-stderr gdn-net --nft-table 'bad name' setup
	[ "$status" -eq 2 ]
}

@test "cleanup after gdn-net up was killed -9 halfway leaves nothing" {
	standin; a=$PID
	# many net-out rules: up spends a while on its firewall after the veth exists
	jq -nc --argjson pid "$a" '{Pid: $pid, netout_rules: [range(10000) | {protocol: 1, networks: [{start: "10.99.\(. / 250 | floor).\(. % 250 + 1)", end: "10.99.\(. / 250 | floor).\(. % 250 + 1)"}], ports: [{start: 443, end: 443}]}]}' >"$WORK/up.json"
	caught=
	for try in 1 2 3 4 5; do
		gdn-net "${NET[@]}" up ka <"$WORK/up.json" >/dev/null 2>&1 3>&- &
		up=$!
		st=$GDN_NET_STATE/containers/ka.json
		until [ -s "$st" ] || ! kill -0 "$up" 2>/dev/null; do :; done
		hostif=$(jq -r .host_interface "$st" 2>/dev/null || true)
		until [ -e "/sys/class/net/$hostif" ] || ! kill -0 "$up" 2>/dev/null; do :; done
		kill -STOP "$up" 2>/dev/null || true
		if [ -e "/sys/class/net/$hostif" ] && [ "$(jq .up_in_progress "$st")" = true ]; then
			caught=$try
		fi
		kill -9 "$up" 2>/dev/null || true
		wait "$up" 2>/dev/null || true
		[ -n "$caught" ] && break
		gdn-net "${NET[@]}" down ka >/dev/null
	done
	[ -n "$caught" ]   # killed with its veth made and its up unfinished
	echo "# up killed halfway on try $caught" >&3
	[ -e "/sys/class/net/$hostif" ]
	run gdn-net "${NET[@]}" cleanup
	[ "$status" -eq 0 ]
	[[ "$(jq -r '.removed[]' <<<"$output")" == *"network of ka (its up died halfway)"* ]]
	[ ! -e "/sys/class/net/$hostif" ]
	[ "$(in_ns "$a" ip -br link | grep -c '^w' || true)" -eq 0 ]
	no_net_leftovers
	# nothing left to do
	[ "$(gdn-net "${NET[@]}" cleanup | jq -c .removed)" = '[]' ]
}

@test "cleanup removes what a lost state file named: devices, chain, rules, allocation, port; not other networkers' devices" {
	standin; a=$PID
	P=(--port-pool-start 40200 --port-pool-size 4)
	echo "{\"Pid\":$a,\"limits\":{\"bandwidth_limits\":{\"rate\":10000000,\"burst\":65536}}}" | gdn-net "${NET[@]}" "${P[@]}" up la >/dev/null
	gdn-net "${NET[@]}" "${P[@]}" net-in la --container-port 80 >/dev/null
	st=$(gdn-net "${NET[@]}" show la)
	# devices named by our scheme that are not ours: no alias, another table's
	ip link add wzzzzzzzzzzz-0 type veth peer name wzzzzzzzzzzz-1
	ip link add wyyyyyyyyyyy-0 type veth peer name wyyyyyyyyyyy-1
	ip link set wyyyyyyyyyyy-0 alias "gdn-net other_table_$$ x"
	rm "$GDN_NET_STATE/containers/la.json"
	run gdn-net "${NET[@]}" "${P[@]}" cleanup
	ip link del wzzzzzzzzzzz-0 || { echo "a device that is not ours was removed"; false; }
	ip link del wyyyyyyyyyyy-0 || { echo "another table's device was removed"; false; }
	[ "$status" -eq 0 ]
	removed=$(jq -r '.removed[]' <<<"$output")
	for want in "device $(jq -r .host_interface <<<"$st")" "device $(jq -r .ifb_interface <<<"$st")" \
		"device $(jq -r .bridge <<<"$st")" "nft chain $(jq -r .chain <<<"$st")" "nft rules of handle la" \
		"nft chain s-10.253.0.0-30" "allocation 10.253.0.2 in 10.253.0.0/30" "port 40200"; do
		grep -qxF "$want" <<<"$removed" || { echo "not removed: $want"; echo "$removed"; false; }
	done
	[ "$(in_ns "$a" ip -br link | grep -c '^w' || true)" -eq 0 ]
	if nft list table ip "$GDN_NET_TABLE" | grep -q 'handle la'; then false; fi
	[ "$(jq '.free | length' "$GDN_NET_STATE/ports.json")" -eq 4 ]
	no_net_leftovers
}

@test "the pools are rebuilt from the states when their files are lost or corrupt, and freed of allocations no state holds" {
	standin; a=$PID
	standin; b=$PID
	standin; c=$PID
	P=(--port-pool-start 40300 --port-pool-size 3)
	echo "{\"Pid\":$a}" | gdn-net "${NET[@]}" "${P[@]}" up ra >/dev/null
	[ "$(gdn-net "${NET[@]}" "${P[@]}" net-in ra | jq .host_port)" -eq 40300 ]
	# a corrupt subnet pool and a lost port pool: rebuilt, so nothing ra holds is handed out again
	echo garbage >"$GDN_NET_STATE/subnets.json"
	rm "$GDN_NET_STATE/ports.json"
	echo "{\"Pid\":$b}" | gdn-net "${NET[@]}" "${P[@]}" up rb >/dev/null
	[ "$(gdn-net "${NET[@]}" show rb | jq -r .ip)" = 10.253.0.6 ]
	[ "$(gdn-net "${NET[@]}" "${P[@]}" net-in rb | jq .host_port)" -eq 40301 ]
	[ "$(jq -c '.allocated | keys' "$GDN_NET_STATE/subnets.json")" = '["10.253.0.0/30","10.253.0.4/30"]' ]
	# an allocation and a port no state holds (say, a crash lost them): cleanup frees them
	jq '.allocated["10.253.0.8/30"] = ["10.253.0.10"]' "$GDN_NET_STATE/subnets.json" >"$WORK/s" && mv "$WORK/s" "$GDN_NET_STATE/subnets.json"
	jq '.free -= [40302]' "$GDN_NET_STATE/ports.json" >"$WORK/p" && mv "$WORK/p" "$GDN_NET_STATE/ports.json"
	run gdn-net "${NET[@]}" "${P[@]}" cleanup
	[ "$status" -eq 0 ]
	[ "$(jq -c .removed <<<"$output")" = '["allocation 10.253.0.10 in 10.253.0.8/30","port 40302"]' ]
	echo "{\"Pid\":$c}" | gdn-net "${NET[@]}" "${P[@]}" up rc >/dev/null
	[ "$(gdn-net "${NET[@]}" show rc | jq -r .ip)" = 10.253.0.10 ]
	[ "$(gdn-net "${NET[@]}" "${P[@]}" net-in rc | jq .host_port)" -eq 40302 ]
	for h in ra rb rc; do gdn-net "${NET[@]}" "${P[@]}" down "$h" >/dev/null; done
	[ "$(jq '.free | length' "$GDN_NET_STATE/ports.json")" -eq 3 ]
	no_net_leftovers
}

@test "GDN_TAG scopes the default table and state dir; env and flags still win; a bad tag is InvalidSpec" {
	tg=bt$$
	TAGGED_STATE=/var/lib/gdn/net-$tg
	run env -u GDN_NET_TABLE -u GDN_NET_STATE GDN_TAG=$tg gdn-net setup
	[ "$status" -eq 0 ]
	[ "$(jq -r .table <<<"$output")" = "ip gdn-$tg" ]
	nft list table ip "gdn-$tg" | grep -q 'chain input'
	[ -d "$TAGGED_STATE/containers" ]
	nft delete table ip "gdn-$tg"
	rm -rf "$TAGGED_STATE"
	# the env this file exports wins over the tag's defaults
	run env GDN_TAG=$tg gdn-net setup
	[ "$(jq -r .table <<<"$output")" = "ip $GDN_NET_TABLE" ]
	[ ! -e "$TAGGED_STATE" ]
	# and so do flags
	run env -u GDN_NET_TABLE -u GDN_NET_STATE GDN_TAG=$tg gdn-net --nft-table "$GDN_NET_TABLE" --state-dir "$GDN_NET_STATE" setup
	[ "$(jq -r .table <<<"$output")" = "ip $GDN_NET_TABLE" ]
	[ ! -e "$TAGGED_STATE" ]
	for bad in Bad 'a-b' 'x/y' 'abcdefghijklmnopq'; do
		run --separate-stderr env -u GDN_NET_TABLE -u GDN_NET_STATE GDN_TAG="$bad" gdn-net setup
		[ "$status" -eq 5 ]
		[ "$(error_type "$stderr")" = InvalidSpec ]
		[[ "$stderr" == *"invalid tag"* ]]
	done
	if nft list tables ip | grep -q "gdn-Bad\|gdn-a-b"; then false; fi
}

# crash_points: network.CrashPoints, read from its source.
crash_points() {
	sed -n '/^var CrashPoints = \[\]string{/,/^}/p' "$BATS_TEST_DIRNAME/../pkg/network/network_linux.go" | grep -o '"gdn-net\.[a-z.]*"' | tr -d '"'
}

@test "gdn-net killed at every crash point: cleanup or a second down leaves nothing, and a neighbour keeps its network" {
	P=(--port-pool-start 40600 --port-pool-size 2)
	standin; nb=$PID
	echo "{\"Pid\":$nb}" | gdn-net "${NET[@]}" "${P[@]}" up neighbour >/dev/null
	standin; a=$PID
	mkdir "$WORK/dns"
	echo "{\"Pid\":$a,\"limits\":{\"bandwidth_limits\":{\"rate\":10000000,\"burst\":65536}}}" >"$WORK/up.json"
	points=$(crash_points)
	[ "$(wc -l <<<"$points")" -ge 8 ]
	for point in $points; do
		op=$(cut -d. -f2 <<<"$point")
		[ "$op" = up ] || gdn-net "${NET[@]}" "${P[@]}" --dns-dir "$WORK/dns" up ka <"$WORK/up.json" >/dev/null
		[ "$op" = up ] || gdn-net "${NET[@]}" "${P[@]}" net-in ka --container-port 80 >/dev/null
		case $op in
		up) run env GDN_TEST_CRASH_AT="$point" gdn-net "${NET[@]}" "${P[@]}" --dns-dir "$WORK/dns" up ka <"$WORK/up.json" ;;
		down) run env GDN_TEST_CRASH_AT="$point" gdn-net "${NET[@]}" "${P[@]}" down ka ;;
		netin) run env GDN_TEST_CRASH_AT="$point" gdn-net "${NET[@]}" "${P[@]}" net-in ka ;;
		esac
		[ "$status" -eq 137 ] || { echo "$point: not killed ($status): $output"; false; }
		if [ "$op" = up ]; then
			gdn-net "${NET[@]}" "${P[@]}" cleanup >/dev/null
		else
			gdn-net "${NET[@]}" "${P[@]}" down ka >/dev/null
			# a down that died past the state file leaves its IP and ports for cleanup
			gdn-net "${NET[@]}" "${P[@]}" cleanup >/dev/null
		fi
		if ip -d link | grep -q "alias gdn-net $GDN_NET_TABLE ka"; then echo "$point: a device is left"; false; fi
		if ip -br link | grep -q 'wbrdg-0afd0004'; then echo "$point: its bridge is left"; false; fi
		if nft list table ip "$GDN_NET_TABLE" | grep -q 'handle ka\|subnet 10.253.0.4/30\|wbrdg-0afd0004'; then echo "$point: rules are left"; false; fi
		[ "$(nft list table ip "$GDN_NET_TABLE" | grep -c 'chain c-')" -eq 1 ]
		[ "$(jq -c .allocated "$GDN_NET_STATE/subnets.json")" = '{"10.253.0.0/30":["10.253.0.2"]}' ]
		[ "$(jq '.free | length' "$GDN_NET_STATE/ports.json")" -eq 2 ]
		[ "$(ls "$GDN_NET_STATE/containers")" = neighbour.json ]
		[ ! -e "$WORK/dns/hosts" ]
		[ "$(in_ns "$a" ip -br link | grep -c '^w' || true)" -eq 0 ]
		busybox ping -c1 -W2 10.253.0.2 >/dev/null || { echo "$point: the neighbour is unreachable"; false; }
		[ "$(gdn-net "${NET[@]}" "${P[@]}" cleanup | jq -c .removed)" = '[]' ]
	done
	gdn-net "${NET[@]}" "${P[@]}" down neighbour >/dev/null
	no_net_leftovers
}
