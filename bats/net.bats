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
	! ip -br link | grep -q 'wbrdg-0afd'
	! nft list table ip gdn 2>/dev/null | grep -q 'subnet 10.253.'
	[ "$(jq '.allocated | length' "$GDN_NET_STATE/subnets.json")" -eq 0 ]
	[ -z "$(ls "$GDN_NET_STATE/containers")" ]
}

@test "two containers get their own /30s, reach their gateways and each other, and down removes all" {
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
	in_ns "$a" busybox ping -c1 -W2 10.253.0.1 >/dev/null
	busybox ping -c1 -W2 10.253.0.6 >/dev/null
	(in_ns "$b" busybox nc -l -p 8080 -e echo hello-from-b &)
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
	in_ns "$a" busybox ping -c1 -W2 10.80.3.5 >/dev/null
	run --separate-stderr bash -c "echo '{\"Pid\":$b,\"network\":\"10.80.3.6\"}' | gdn-net ${NET[*]} up sb"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	[ ! -e "$GDN_NET_STATE/containers/sb.json" ]
	[ "$(in_ns "$b" ip -br link | grep -c '^w' || true)" -eq 0 ]
	run --separate-stderr bash -c "echo '{\"Pid\":$b,\"network\":\"10.80.3.5\"}' | gdn-net ${NET[*]} up sc"
	[ "$status" -eq 5 ]   # the gateway
	gdn-net "${NET[@]}" down sa
	! ip -br link | grep -q wbrdg-0a500304
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
	[ "$(jq -r '.properties | keys | join(",")' <<<"$output")" = "garden.network.container-ip,garden.network.host-ip,garden.network.mapped-ports" ]
	[ "$(jq -r '.dns_servers | type' <<<"$output")" = array ]
	run bash -c "echo null | gdn-net ${NET[*]} --action down --handle ca"
	[ "$status" -eq 0 ]
	no_net_leftovers
	run --separate-stderr gdn-net --action net-in --handle ca
	[ "$status" -eq 2 ]
}

@test "the pipeline: a real container gets its network from gdn-run create's output" {
	h=$(handle net)
	gdn-depot create "$h" --rootfs "$WORK/rootfs" --init-bin "$INIT" | gdn-run create | gdn-net "${NET[@]}" up >/dev/null
	run gdn-run exec "$h" --attach -- /bin/sh -c 'ip -4 -o addr show | grep -v " lo "; ping -c1 -W2 10.253.0.1 | grep received'
	[ "$status" -eq 0 ]
	[[ "$output" == *"10.253.0.2/30"* ]]
	[[ "$output" == *"1 packets received"* ]]
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
	(in_ns "$a" busybox nc -l -p 8080 -e echo hello-via-net-in &)
	sleep 0.3
	[ "$(busybox nc "$ext" 40000 </dev/null)" = hello-via-net-in ]
	[ "$(gdn-net "${NET[@]}" show ia | jq -c .mapped_ports)" = '[{"HostPort":40000,"ContainerPort":8080},{"HostPort":40001,"ContainerPort":9000}]' ]

	gdn-net "${NET[@]}" "${P[@]}" down ia
	! nft list table ip gdn | grep -q 'handle ia'
	# released ports go to the back: the never-used 40002 comes first
	standin; b=$PID
	echo "{\"Pid\":$b}" | gdn-net "${NET[@]}" "${P[@]}" up ib >/dev/null
	[ "$(gdn-net "${NET[@]}" "${P[@]}" net-in ib | jq .host_port)" -eq 40002 ]
	[ "$(gdn-net "${NET[@]}" "${P[@]}" net-in ib | jq .host_port)" -eq 40000 ]
	gdn-net "${NET[@]}" "${P[@]}" down ib
	no_net_leftovers
}
