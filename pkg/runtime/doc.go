// Package runtime runs gdn containers with runc's libcontainer, in-process,
// with no runc binary.
//
// A container is created from an OCI bundle (a directory holding
// config.json, as gdn-depot writes it) and started at once with the bundle's
// process, which for gdn is the sleeping init; every later process joins it
// with Exec. State lives in the runtime root (default /run/runc), one
// directory per container, in libcontainer's own format, so that Debian's
// runc can list, inspect, signal and delete gdn containers (the bundle path
// is recorded as libcontainer's "bundle=" label). Beside libcontainer's
// state.json, gdn keeps one file of its own per container:
//
//	<root>/<handle>/state.json   libcontainer (runc) state
//	<root>/<handle>/gdn-stopped  present once Stop has run (Garden "stopped")
//	<root>.seccomp/<key>         seccomp profiles compiled once (beside the
//	                             root, where runc would not take them for
//	                             containers; see initSeccomp)
//
// Two steps of a create are gdn-run's rather than libcontainer's: a
// rootfs given as a mount on "/" (an image plugin's unmounted overlay) is
// mounted in the container's mount namespace only (rootmount_linux.go),
// and gdn-init loads the seccomp filter compiled once instead of the init
// compiling it for every container (seccomp_linux.go); an exec'd
// process's bootstrap gets the same filter handed over
// (execseccomp_linux.go).
//
// Teardown never uses runc's 100 ms polling "delete --force" path: Delete
// kills the init, waits for its exit on a pidfd, and destroys the cgroup and
// state. Every create path has an idempotent destroy path: a create that
// fails, or a gdn-run killed mid-create, leaves state that Delete removes.
package runtime
