# Shared setup for gdn's bats suites: every test gets its own depot and
bats_require_minimum_version 1.5.0

# runtime root, under a work dir the unprivileged container root (host uid
# 4294967294) can traverse, and a leak check for a handle.

GDN_BIN=${GDN_BIN:-$(cd "$BATS_TEST_DIRNAME/../bin" && pwd)}
export PATH=$GDN_BIN:$PATH

# setup_work makes $WORK (0755), a rootfs, a copy of gdn-init in it, and
# points the tools at a private depot and runtime root.
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
	local m
	for m in $(awk -v w="$WORK/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		echo "leaked mount: $m"
		leaks=1
		umount "$m" 2>/dev/null || true
	done
	rm -rf "$WORK"
	return $leaks
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
	found=$(ls -d /sys/fs/cgroup/*/garden/"$h" /sys/fs/cgroup/garden/"$h" 2>/dev/null || true)
	[ -z "$found" ] || { echo "leaked cgroups: $found"; return 1; }
	[ ! -e "$GDN_RUNTIME_ROOT/$h" ] || { echo "leaked runtime state $GDN_RUNTIME_ROOT/$h"; return 1; }
	[ ! -e "$GDN_DEPOT/$h" ] || { echo "leaked depot dir $GDN_DEPOT/$h"; return 1; }
	! grep -q -- "$h" /proc/self/mountinfo || { echo "leaked mount: $(grep -- "$h" /proc/self/mountinfo)"; return 1; }
}

# error_type: the "type" of the error JSON a tool printed on stderr.
error_type() { jq -r .error.type <<<"$1"; }
