# Shared setup for gdn's bats suites: every test gets its own depot and
bats_require_minimum_version 1.5.0

# runtime root, under a work dir the unprivileged container root (host uid
# 4294967294) can traverse, and a leak check for a handle.

GDN_BIN=${GDN_BIN:-$(cd "$BATS_TEST_DIRNAME/../bin" && pwd)}
export PATH=$GDN_BIN:$PATH

# Every test runs as its own gdn instance (pkg/tag): its containers' cgroups
# live under /garden-$GDN_TAG ($CG), never under the default /garden of an
# operator's gdn-server on this host, and the tag's other defaults (store,
# depot, runtime root, nft table, net state) are this run's too. The tag is
# ours whatever the caller's environment says.
export GDN_TAG=bats$$
CG=garden-$GDN_TAG

# setup_work makes $WORK (0755), a rootfs, a copy of gdn-init in it, and
# points the tools at a private depot and runtime root (and, through
# GDN_TAG above, a private cgroup parent).
setup_work() {
	WORK=$(mktemp -d /tmp/gdn-bats.XXXXXX)
	chmod 0755 "$WORK"
	"$BATS_TEST_DIRNAME/../scripts/mk-rootfs" "$WORK/rootfs" >/dev/null
	cp "$GDN_BIN/gdn-init" "$WORK/gdn-init"
	INIT="$WORK/gdn-init"
	export GDN_DEPOT=$WORK/depot GDN_RUNTIME_ROOT=$WORK/runtime
	mkdir -p "$GDN_DEPOT"
}

# teardown_work deletes every container of the test's private runtime root
# and depot, checks that none of them left anything behind, and removes the
# work dir.
teardown_work() {
	local handles h leaks=0
	handles=$( (ls "$GDN_RUNTIME_ROOT" 2>/dev/null; ls "$GDN_DEPOT" 2>/dev/null) | grep -v '^\.' | sort -u)
	for h in $handles; do
		gdn-run delete "$h" >/dev/null 2>&1 || true
		gdn-depot destroy "$h" >/dev/null 2>&1 || true
	done
	for h in $handles; do
		assert_no_leaks "$h" || leaks=1
	done
	leak_check || leaks=1
	remove_cg_parent
	local m
	for m in $(awk -v w="$WORK/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		echo "leaked mount: $m"
		leaks=1
		umount "$m" 2>/dev/null || true
	done
	rm -rf "$WORK"
	return $leaks
}

# remove_cg_parent: the tag's cgroup parents, which the tools leave behind
# (the next container of the instance would reuse them); only empty ones go,
# so a leaked container's cgroup stays for leak_check to have reported.
remove_cg_parent() {
	rmdir /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG" 2>/dev/null || true
}

# handle NAME: a handle unique to this test run.
handle() { echo "bats-$1-$$"; }

# mkc HANDLE [gdn-depot flags...]: the pipeline, on the test rootfs.
mkc() {
	local h=$1; shift
	gdn-depot create "$h" --rootfs "$WORK/rootfs" --init-bin "$INIT" "$@" | gdn-run create
}

# init_pid HANDLE
init_pid() { gdn-run state "$1" | jq -r .pid; }

# assert_no_leaks HANDLE: nothing of HANDLE is left on the host.
assert_no_leaks() {
	local h=$1 found
	found=$(ls -d /sys/fs/cgroup/*/"$CG/$h" /sys/fs/cgroup/"$CG/$h" 2>/dev/null || true)
	[ -z "$found" ] || { echo "leaked cgroups: $found"; return 1; }
	[ ! -e "$GDN_RUNTIME_ROOT/$h" ] || { echo "leaked runtime state $GDN_RUNTIME_ROOT/$h"; return 1; }
	[ ! -e "$GDN_DEPOT/$h" ] || { echo "leaked depot dir $GDN_DEPOT/$h"; return 1; }
	! grep -q -- "$h" /proc/self/mountinfo || { echo "leaked mount: $(grep -- "$h" /proc/self/mountinfo)"; return 1; }
	local json out rc=0
	json=$(leak_check_cmd -o json --owned "$h") || rc=$?
	[ "$rc" -le 1 ] || { echo "gdn-leakcheck failed (status $rc)"; return 1; }
	out=$(jq -r --arg h "$h" '.leaks[] | select(.handle == $h) | "\(.kind) \(.what)"' <<<"$json")
	[ -z "$out" ] || { echo "leaks of $h:"; echo "$out"; return 1; }
}

# leak_check [gdn-leakcheck flags...]: gdn-leakcheck on the test's own
# instance: its depot and runtime root, and its store, net state and nft
# table when the test set them (GDN_STORE, GDN_NET_STATE, GDN_NET_TABLE),
# and its tag's cgroup parent, which is the test's alone: everything in it
# counts. Prints each leftover and fails when there is any.
leak_check() {
	local out
	out=$(leak_check_cmd -o text "$@" 2>&1) && return 0
	echo "leak check of the test's instance:"
	echo "$out"
	return 1
}

leak_check_cmd() {
	gdn-leakcheck --cgroup-parent "/$CG" --depot "$GDN_DEPOT" --runtime-root "$GDN_RUNTIME_ROOT" \
		--store "${GDN_STORE:-}" --net-state "${GDN_NET_STATE:-}" --nft-table "${GDN_NET_TABLE:-}" "$@"
}

# error_type: the "type" of the error JSON a tool printed on stderr.
error_type() { jq -r .error.type <<<"$1"; }
