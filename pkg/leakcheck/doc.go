// Package leakcheck lists what one gdn instance left on the host: the
// leftovers a destroy, a crash or a failed create can leave, looked for
// where each tool keeps them, so that a test (AssertClean) or an operator
// (gdn-leakcheck, scripts/leak-check) can tell a clean host from a dirty
// one. It only reads; it never removes anything.
//
// An Instance names the instance's homes: its depot, image store, runtime
// root, network state dir, nftables table and cgroup parent. A part whose
// home is empty is not checked, so a test checks only what it made. What
// is looked at:
//
//   - Depot: bundle directories (every entry but dot files) and each entry
//     of .trash (a destroy that did not finish);
//   - Store: volumes (volumes/<handle>), btrfs subvolumes anywhere in the
//     store's first levels but layers/ and meta/;
//   - mounts (from /proc/self/mountinfo) at or under the depot's entries,
//     the runtime root and the store (the store's own mount and its
//     shared lowers/ aside);
//   - CgroupParent: a cgroup per entry of the parent in every mounted
//     hierarchy (each cgroup v1 controller and the v2 hierarchy), and
//     processes (zombies aside) whose cgroup is under the parent;
//   - NftTable: links whose alias marks them as the table's gdn-net's
//     ("gdn-net <table>" for bridges, "gdn-net <table> <handle>" for
//     veths and ifbs), chains other than the base chains, rules in the
//     base chains commented with a handle or a subnet, and bridges in the
//     table's set of bridges;
//   - NetState: container network states (containers/<handle>.json) and
//     allocations in the subnet and port pools (subnets.json, ports.json);
//   - RuntimeRoot: runtime state dirs, and dadoo processes whose command
//     line names the runtime root or a process dir in the depot.
//
// Except names handles that should exist (a neighbour that lives on):
// what they own is not reported, including their peas' runtime states,
// cgroups and volumes, their subnet's bridge and their pool allocations.
//
// Several test runs may share one cgroup parent (the default instance's
// /garden, while each has its own depot and table): Owned then tells this
// run's handles from the others', for what is found by cgroup alone, and
// InitBin tells a live container of another run that reuses a handle name
// (its init is another file) from this run's leftover.
package leakcheck
