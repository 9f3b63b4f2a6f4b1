// Package hostcheck says what a host offers gdn before gdn-server starts:
// root, user namespaces, overlayfs and id-mapped mounts, btrfs and loop
// devices, cgroup controllers, nftables, IPv4 forwarding, the
// capabilities root holds, and whether the directories gdn keeps state in
// are usable (and, where containers need it, reachable by the container
// root, host uid 4294967294 by default).
//
// Each check probes the kernel for real where that is cheap and leaves
// nothing behind (a user namespace child, an id-mapped mount tree that is
// never attached, a read-only nftables listing); it never changes the host
// (it does not load modules, turn on forwarding or create directories).
// A check that fails is a Blocker when gdn cannot create containers
// without it, and a plain "missing" when gdn runs without it but loses a
// feature.
package hostcheck
