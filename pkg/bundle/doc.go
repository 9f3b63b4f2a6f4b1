// Package bundle builds the OCI runtime spec (the config.json of a bundle)
// of a gdn container. It is the only package that writes OCI specs.
//
// A spec is produced by folding an ordered list of small rules over an
// empty specs.Spec: Generate(d, DefaultRules(cfg)). Desired says what the
// caller wants for this one container (handle, rootfs, env, bind mounts,
// limits, privileged); Config says what is true of the host and of this gdn
// installation (init binary, id mappings, capabilities, cgroup version).
// Each rule lives in its own file, reads only Desired and its own settings,
// and says in its doc comment why it exists. The order of DefaultRules
// matters where a rule builds on another (seccomp filters on the
// capabilities; the init and bind mounts follow the default mounts).
//
// Rules validate the fields they consume and wrap errkind.InvalidSpec for
// caller mistakes (a relative rootfs, a bind mount onto "/", an env entry
// without "="). Rules touch the file system only to check that paths exist
// and to read the mount flags of bind-mount sources; HostConfig is where
// the host is probed. The package does not write the bundle to disk (that
// is pkg/depot) nor start it (pkg/runtime).
package bundle
