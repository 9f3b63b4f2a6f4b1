#!/usr/bin/env bats
# gdn-net: container networks. Stand-in containers are processes in network
# namespaces of their own (unshare -n); nothing leaves this machine.

load helpers

setup() {
	setup_work
	export GDN_NET_STATE=$WORK/net
	# a pool of our own, away from the default one other tools may use
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
	teardown_work
}

# standin: start a process in a new network namespace; its pid in $PID.
standin() {
	unshare -n sleep 1000 &
	PID=$!
	PIDS+=("$PID")
	sleep 0.1
}

in_ns() { local pid=$1; shift; nsenter -t "$pid" -n "$@"; }

# no_net_leftovers: no device, rule or allocation of ours remains.
no_net_leftovers() {
	if ip -br link | grep -q 'wbrdg-0afd'; then false; fi
	if nft list table ip gdn 2>/dev/null | grep -q 'subnet 10.253.'; then false; fi
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
	nft list table ip gdn | grep -q 'masquerade comment "subnet 10.253.0.0/30"'

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
	[ "$(jq -r '.properties | keys | join(",")' <<<"$output")" = "garden.network.container-ip,garden.network.external-ip,garden.network.host-ip,garden.network.mapped-ports" ]
	[ "$(jq -r '.dns_servers | type' <<<"$output")" = array ]
	run bash -c "echo null | gdn-net ${NET[*]} --action down --handle ca"
	[ "$status" -eq 0 ]
	no_net_leftovers
	run --separate-stderr gdn-net --action bogus --handle ca
	[ "$status" -eq 2 ]
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

	gdn-net "${NET[@]}" "${P[@]}" down ia
	if nft list table ip gdn | grep -q 'handle ia'; then false; fi
	# released ports go to the back: the never-used 40002 comes first
	standin; b=$PID
	echo "{\"Pid\":$b}" | gdn-net "${NET[@]}" "${P[@]}" up ib >/dev/null
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
	nft list chain ip gdn "$(gdn-net "${NET[@]}" show ob | jq -r .chain)" | grep -q 'comment "handle ob"'
	gdn-net "${NET[@]}" down ob
	if nft list table ip gdn | grep -q 'handle ob'; then false; fi
	no_net_leftovers
}

@test "containers cannot open connections to the host unless --allow-host-access" {
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
	[ "$(nft list chain ip gdn "$(gdn-net "${NET[@]}" show va | jq -r .chain)" | grep -c 'dport 443')" -eq 3000 ]
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
