#!/usr/bin/env bats
# gdn-server as an operator drives it: curl on its unix socket, the real
# tools behind it. Every test has its own server, depot, runtime root,
# image store, nft table and network pool (10.79.0.0/24); nothing leaves
# this machine (net-in is reached on the host's own address).

load helpers

POOL=10.79.0.0/24
BRIDGE=wbrdg-0a4f # the pool's bridges: wbrdg-<subnet in hex>
PORTS=(--port-pool-start 63101 --port-pool-size 10)

setup() {
	setup_work
	export GDN_NET_STATE=$WORK/net GDN_STORE=$WORK/store GDN_NET_TABLE=gdnsrv_$$
	SOCK=$WORK/garden.sock
	start_server
}

# start_server: a gdn-server on this test's homes, serving when it returns.
start_server() {
	gdn-server --depot "$GDN_DEPOT" --bind-socket "$SOCK" --init-bin "$INIT" \
		--default-rootfs "$WORK/rootfs" --network-pool "$POOL" "${PORTS[@]}" \
		--log-level debug --log-file "$WORK/server.log" </dev/null >/dev/null 2>&1 3>&- &
	SERVER=$!
	for _ in $(seq 200); do
		curl -sf --unix-socket "$SOCK" http://api/ping >/dev/null 2>&1 && return 0
		kill -0 "$SERVER" 2>/dev/null || break
		sleep 0.1
	done
	echo "gdn-server did not start:"; tail -20 "$WORK/server.log"
	return 1
}

teardown() {
	local h stopped=0 leaked=0
	if [ -n "${SERVER:-}" ] && kill -0 "$SERVER" 2>/dev/null; then
		for h in $(api GET '/containers?garden.state=all' | jq -r '.Handles[]'); do
			api DELETE "/containers/$h" >/dev/null || true
		done
		kill -TERM "$SERVER"
		for _ in $(seq 100); do
			kill -0 "$SERVER" 2>/dev/null || { stopped=1; break; }
			sleep 0.1
		done
		if [ "$stopped" -eq 0 ]; then
			echo "gdn-server ignored SIGTERM"
			kill -KILL "$SERVER"
		fi
	fi
	# before the store's mount and the table go: what is in them counts
	leak_check || leaked=1
	gdn-rootfs clean >/dev/null 2>&1 || true
	umount "$GDN_STORE" "$GDN_STORE-privileged" 2>/dev/null || true
	nft delete table ip "$GDN_NET_TABLE" 2>/dev/null || true
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		echo "server log (tail):"
		tail -30 "$WORK/server.log"
	fi
	teardown_work || leaked=1
	[ "${stopped:-1}" -eq 1 ] && [ "$leaked" -eq 0 ]
}

# api METHOD PATH [curl args...]: the body of the answer.
api() { curl -sS --unix-socket "$SOCK" -X "$1" "http://api$2" "${@:3}"; }

# raw METHOD PATH [curl args...]: the whole answer (curl -i), LF line ends,
# the Date normalised.
raw() {
	curl -sS -i --unix-socket "$SOCK" -X "$1" "http://api$2" "${@:3}" |
		sed -e 's/\r$//' -e 's/^Date: .*/Date: <date>/'
}

# create HANDLE [JSON fields]: POST /containers; checks the answer.
create() {
	local out
	out=$(api POST /containers -d "{\"handle\":\"$1\"${2:+,$2}}")
	[ "$out" = "{\"Handle\":\"$1\"}" ] || { echo "create $1: $out"; return 1; }
}

# start HANDLE SPEC: run a process with curl. The answer is hijacked: a
# 201 whose "Transfer-Encoding: chunked" is not honoured, then raw JSON
# messages; curl --raw prints the first one and gives up on the chunking,
# and the process goes on (a client that leaves does not end it). The
# header block goes to $RUNHEAD (LF line ends, Date normalised), the first
# message to $FIRST.
start() {
	local out
	out=$(curl -sS -i --raw -m 5 --unix-socket "$SOCK" -X POST "http://api/containers/$1/processes" -d "$2" 2>/dev/null || true)
	out=$(sed -e 's/\r$//' -e 's/^Date: .*/Date: <date>/' <<<"$out")
	RUNHEAD=${out%%$'\n\n'*}
	FIRST=${out#*$'\n\n'}
	[[ "$FIRST" =~ ^\{\"process_id\":\"[^\"]+\",\"stream_id\":\"[0-9]+\"\}$ ]] || { echo "run: $out"; return 1; }
}

# dead PID: no such process, or only a zombie.
dead() { [ ! -d "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }

# no_leftovers HANDLE: nothing of HANDLE remains: depot dir, runtime
# state, cgroup, mounts, image volume, network state, devices and rules.
no_leftovers() {
	local h=$1
	assert_no_leaks "$h"
	[ -z "$(ls "$GDN_DEPOT")" ] || { echo "depot: $(ls "$GDN_DEPOT")"; return 1; }
	[ -z "$(ls "$GDN_RUNTIME_ROOT" 2>/dev/null)" ] || { echo "runtime: $(ls "$GDN_RUNTIME_ROOT")"; return 1; }
	[ "$(gdn-rootfs list | jq '.volumes | length')" -eq 0 ] || { echo "volumes: $(gdn-rootfs list)"; return 1; }
	[ -z "$(ls "$GDN_NET_STATE/containers")" ] || { echo "net state: $(ls "$GDN_NET_STATE/containers")"; return 1; }
	if ip -br link | grep -q "$BRIDGE"; then echo "bridge left: $(ip -br link | grep "$BRIDGE")"; return 1; fi
	if ip -d link | grep -q "alias gdn-net $GDN_NET_TABLE"; then echo "veth left"; return 1; fi
	if ip -4 -o addr | grep -q ' 10\.79\.0\.'; then echo "pool address left"; return 1; fi
	if nft list table ip "$GDN_NET_TABLE" 2>/dev/null | grep -q "handle $h"; then echo "nft rules left"; return 1; fi
	[ "$(gdn-rootfs --store "$GDN_STORE-privileged" list | jq '.volumes | length')" -eq 0 ] || { echo "privileged volumes: $(gdn-rootfs --store "$GDN_STORE-privileged" list)"; return 1; }
	# The store's own mount, and its one shared lower per preloaded image,
	# belong to the store, not to a container.
	if awk -v w="$WORK/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | grep -v -e "^$GDN_STORE\$" -e "^$GDN_STORE-privileged\$" -e "^$GDN_STORE/lowers/"; then
		echo "mounts left under $WORK"
		return 1
	fi
}

@test "ping and capacity; the socket is world-writable" {
	[ "$(stat -c %a "$SOCK")" = 777 ]
	[ "$(api GET /ping)" = '{}' ]
	run raw GET /ping
	[ "$output" = "$(printf 'HTTP/1.1 200 OK\nContent-Type: application/json\nDate: <date>\nContent-Length: 3\n\n{}')" ]
	# a /24 holds 64 container subnets
	[ "$(api GET /capacity | jq .max_containers)" -eq 64 ]
	[ "$(api GET /capacity | jq '.memory_in_bytes > 0 and .disk_in_bytes > 0')" = true ]
}

@test "create, then list, info and properties; list filters by property" {
	h=$(handle api)
	create "$h" '"properties":{"team":"bats"}'
	[ "$(api GET /containers | jq -c .Handles)" = "[\"$h\"]" ]
	[ "$(api GET '/containers?team=bats' | jq -c .Handles)" = "[\"$h\"]" ]
	[ "$(api GET '/containers?team=other')" = '{"Handles":[]}' ]

	run api GET "/containers/$h/info"
	[ "$(jq -r .State <<<"$output")" = active ]
	[ "$(jq -r .ContainerPath <<<"$output")" = "$GDN_DEPOT/$h" ]
	[[ "$(jq -r .ContainerIP <<<"$output")" == 10.79.0.* ]]
	[[ "$(jq -r .HostIP <<<"$output")" == 10.79.0.* ]]
	[ "$(jq -r .Properties.team <<<"$output")" = bats ]
	[ "$(jq -c .MappedPorts <<<"$output")" = '[]' ]
	[ "$(jq -c .ProcessIDs <<<"$output")" = null ]
	# every key, in the reference's order
	[ "$(jq -r 'keys_unsorted | join(",")' <<<"$output")" = State,Events,HostIP,ContainerIP,ContainerIPv6,ExternalIP,ContainerPath,ProcessIDs,Properties,MappedPorts ]
	[ "$(api GET "/containers/bulk_info?handles=$h" | jq -r ".\"$h\".Info.State, .\"$h\".Err")" = "$(printf 'active\nnull')" ]

	[ "$(api GET "/containers/$h/properties/team")" = '{"value":"bats"}' ]
	[ "$(api PUT "/containers/$h/properties/colour" -d '{"value":"green"}')" = '{}' ]
	[ "$(api GET "/containers/$h/properties" | jq -r .colour)" = green ]
	[ "$(api GET "/containers/$h/properties" | jq -r '."garden.state"')" = created ]
	[ "$(api DELETE "/containers/$h/properties/colour")" = '{}' ]
	run raw GET "/containers/$h/properties/colour"
	[ "$output" = "$(printf 'HTTP/1.1 500 Internal Server Error\nContent-Type: application/json\nDate: <date>\nContent-Length: 95\n\n{"Type":"","Message":"property does not exist: colour","Handle":"","ProcessID":"","Binary":""}')" ]

	# a handle in use
	body="{\"Type\":\"\",\"Message\":\"Handle '$h' already in use\",\"Handle\":\"\",\"ProcessID\":\"\",\"Binary\":\"\"}"
	run raw POST /containers -d "{\"handle\":\"$h\"}"
	[ "$output" = "$(printf 'HTTP/1.1 500 Internal Server Error\nContent-Type: application/json\nDate: <date>\nContent-Length: %d\n\n%s' $((${#body} + 1)) "$body")" ]
}

@test "stream-in a tar with curl -T, stream it out again: the same files" {
	h=$(handle files)
	create "$h"
	mkdir -p "$WORK/src/sub"
	head -c 300000 /dev/urandom >"$WORK/src/blob"
	printf 'hello\n' >"$WORK/src/sub/greeting"
	chmod 0640 "$WORK/src/sub/greeting"
	ln -s sub/greeting "$WORK/src/link"
	tar -C "$WORK/src" -cf "$WORK/in.tar" .

	# (curl asks to Expect: 100-continue for a body this size)
	run raw PUT "/containers/$h/files?user=root&destination=/tmp/in" -T "$WORK/in.tar" -H 'Content-Type: application/x-tar'
	[ "$output" = "$(printf 'HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nContent-Type: application/json\nDate: <date>\nContent-Length: 3\n\n{}')" ]

	# a trailing / streams the directory's contents, none the directory
	api GET "/containers/$h/files?user=root&source=/tmp/in/" -o "$WORK/out.tar"
	mkdir "$WORK/out"
	tar -C "$WORK/out" -xf "$WORK/out.tar"
	diff -r "$WORK/src" "$WORK/out"
	[ "$(stat -c %a "$WORK/out/sub/greeting")" = 640 ]
	[ "$(readlink "$WORK/out/link")" = sub/greeting ]
	api GET "/containers/$h/files?user=root&source=/tmp/in/sub" -o "$WORK/sub.tar"
	[ "$(tar -tf "$WORK/sub.tar" | sort | tr '\n' ' ')" = "sub/ sub/greeting " ]

	# as vcap (uid 1000 in the container): files owned by vcap
	api PUT "/containers/$h/files?user=vcap&destination=/home/vcap/in" -T "$WORK/in.tar" >/dev/null
	[ "$(api GET "/containers/$h/files?user=vcap&source=/home/vcap/in/sub/greeting" | tar -tvf - --numeric-owner | awk '{print $2}')" = 1000/1000 ]

	# a source that does not exist: a JSON error, not a tar
	run api GET "/containers/$h/files?user=root&source=/nope" -w ' %{http_code}'
	[[ "$output" == '{"Type":"",'*' 500' ]]
}

@test "net-in: a web server in the container answers on the host's address and the mapped port" {
	h=$(handle web)
	create "$h"
	mkdir -p "$WORK/site/www"
	echo "hello from $h" >"$WORK/site/www/index.html"
	tar -C "$WORK/site" -cf - www | api PUT "/containers/$h/files?user=root&destination=/" -T - >/dev/null

	start "$h" '{"path":"httpd","args":["-f","-p","8080","-h","/www"]}'
	run api POST "/containers/$h/net/in" -d '{"container_port":8080}'
	[ "$status" -eq 0 ]
	port=$(jq .host_port <<<"$output")
	[ "$port" -ge 63101 ]
	[ "$port" -le 63110 ]
	[ "$(jq .container_port <<<"$output")" -eq 8080 ]

	run api GET "/containers/$h/info"
	[ "$(jq -c .MappedPorts <<<"$output")" = "[{\"HostPort\":$port,\"ContainerPort\":8080}]" ]
	ext=$(jq -r .ExternalIP <<<"$output")
	# the external IP is one of this host's own
	ip -4 -o addr | grep -q " $ext/"

	got=
	for _ in $(seq 50); do
		got=$(curl -sS -m 2 "http://$ext:$port/index.html" 2>/dev/null) && break
		sleep 0.1
	done
	[ "$got" = "hello from $h" ]
}

@test "destroy removes the container and all of it: depot, runtime, volume, network, mounts" {
	h=$(handle gone)
	create "$h"
	start "$h" '{"path":"sleep","args":["1000"]}'
	# the reference's hijacked header block: no Connection: close
	[ "$RUNHEAD" = "$(printf 'HTTP/1.1 201 Created\nContent-Type: application/json\nDate: <date>\nTransfer-Encoding: chunked')" ]
	api POST "/containers/$h/net/in" -d '{"container_port":8080}' >/dev/null
	ip -br link | grep -q "$BRIDGE"
	[ -d "$GDN_DEPOT/$h" ]
	init=$(init_pid "$h")
	[ -d "/proc/$init" ]

	run raw DELETE "/containers/$h"
	[ "$output" = "$(printf 'HTTP/1.1 200 OK\nContent-Type: application/json\nDate: <date>\nContent-Length: 3\n\n{}')" ]
	[ "$(api GET '/containers?garden.state=all')" = '{"Handles":[]}' ]
	no_leftovers "$h"
	# the init is dead (perhaps a zombie of the host's pid 1), and with it
	# its pid namespace and the sleep
	dead "$init"
}

@test "an unknown handle is a 404 with the reference's JSON body" {
	body='{"Type":"ContainerNotFoundError","Message":"unknown handle: nope","Handle":"nope","ProcessID":"","Binary":""}'
	for req in "GET /containers/nope/info" "DELETE /containers/nope" "GET /containers/nope/properties" "GET /containers/nope/metrics"; do
		run raw $req
		[ "$output" = "$(printf 'HTTP/1.1 404 Not Found\nContent-Type: application/json\nDate: <date>\nContent-Length: 110\n\n%s' "$body")" ]
	done
	# a bulk call answers for each handle; a failed one is a plain error
	[ "$(api GET '/containers/bulk_info?handles=nope' | jq -c .nope.Err)" = '{"Type":"","Message":"unknown handle: nope","Handle":"","ProcessID":"","Binary":""}' ]
	[ "$(api GET '/containers/bulk_metrics?handles=')" = '{}' ]
}

@test "router misses: 404 and 405 in text/plain, with Allow" {
	run raw GET /nope
	[ "$output" = "$(printf 'HTTP/1.1 404 Not Found\nContent-Type: text/plain; charset=utf-8\nX-Content-Type-Options: nosniff\nDate: <date>\nContent-Length: 19\n\n404 page not found')" ]
	run raw GET /containers/h/limits/pid
	[ "${lines[0]}" = 'HTTP/1.1 404 Not Found' ]
	for req in "POST /ping" "PUT /containers/h/limits/memory"; do
		run raw $req -d '{}'
		[ "$output" = "$(printf 'HTTP/1.1 405 Method Not Allowed\nAllow: GET\nContent-Type: text/plain; charset=utf-8\nX-Content-Type-Options: nosniff\nDate: <date>\nContent-Length: 19\n\nMethod Not Allowed')" ]
	done
	run raw PATCH /containers
	[ "${lines[1]}" = 'Allow: GET, POST' ]
	# HEAD is not GET
	run curl -sS -I --unix-socket "$SOCK" http://api/ping
	[ "${lines[0]}" = $'HTTP/1.1 405 Method Not Allowed\r' ]
}

@test "an idle container is reaped after its grace time, and leaves nothing" {
	h=$(handle reap)
	create "$h" '"grace_time":1000000000'
	keep=$(handle keep)
	create "$keep" '"grace_time":1000000000'
	# 0 means never
	[ "$(api PUT "/containers/$keep/grace_time" -d 0)" = '{}' ]
	for _ in $(seq 50); do
		[ "$(api GET '/containers?garden.state=all' | jq -c .Handles)" = "[\"$keep\"]" ] && break
		sleep 0.2
	done
	[ "$(api GET '/containers?garden.state=all' | jq -c .Handles)" = "[\"$keep\"]" ]
	assert_no_leaks "$h"
	[ "$(api GET "/containers/$keep/info" | jq -r .State)" = active ]
}

@test "the tools run under the spawn helper; a killed helper is replaced, and it leaves with the server" {
	helper() { pgrep -P "$SERVER" -f 'spawn-helper'; }
	first=$(helper)
	[ -n "$first" ]
	[ "$(cat "/proc/$first/comm")" = gdn-spawn ]
	# its file table stays small however many files the server holds
	[ "$(ls "/proc/$first/fd" | wc -l)" -lt 32 ]
	h=$(handle spawned)
	create "$h"
	# the create ran the tools (the debug log), through the helper
	grep -q '"msg":"ran tool".*"cmd":"gdn-run"' "$WORK/server.log"
	kill -KILL "$first"
	for _ in $(seq 50); do dead "$first" && break; sleep 0.1; done
	dead "$first"
	# the next tool run starts a new helper, and the API goes on
	api DELETE "/containers/$h" >/dev/null
	no_leftovers "$h"
	second=$(helper)
	[ -n "$second" ] && [ "$second" != "$first" ]
	create "$h"
	[ "$(api GET /containers | jq -c .Handles)" = "[\"$h\"]" ]
	api DELETE "/containers/$h" >/dev/null
	# a server that stops takes its helper along (kill -9 too: the
	# helper's socket closes), once the helper's runs have ended
	kill -KILL "$SERVER"
	for _ in $(seq 50); do dead "$second" && break; sleep 0.1; done
	dead "$second"
	start_server
}
