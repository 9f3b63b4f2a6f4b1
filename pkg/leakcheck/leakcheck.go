package leakcheck

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/tag"
)

// Kinds of leftovers, the Kind of a Leak.
const (
	KindDepot      = "depot"     // a bundle directory
	KindTrash      = "trash"     // an entry of depot/.trash
	KindVolume     = "volume"    // an image store volume
	KindSubvolume  = "subvolume" // a btrfs subvolume of the store, not a volume
	KindMount      = "mount"     // a mount under the depot, store or runtime root
	KindCgroup     = "cgroup"    // a cgroup under the cgroup parent
	KindProcess    = "process"   // a live process of the instance
	KindLink       = "link"      // a network device marked with the instance's alias
	KindChain      = "nft-chain" // a chain in the instance's table beyond the base chains
	KindRule       = "nft-rule"  // a base chain's rule naming a container or subnet
	KindSetElement = "nft-set"   // a bridge in the table's set of bridges
	KindNetState   = "net-state" // a container network state file
	KindSubnet     = "subnet"    // an address allocated in the subnet pool
	KindPort       = "port"      // a port allocated in the port pool
	KindRuntime    = "runtime"   // a runtime state dir
)

// Leak is one leftover.
type Leak struct {
	Kind string `json:"kind"`
	// Handle is the container the leftover belongs to, when it is known.
	Handle string `json:"handle,omitempty"`
	// What names the leftover: a path, a device, a chain, a pid.
	What string `json:"what"`
}

// String is the leak as one line: "kind what (handle h)".
func (l Leak) String() string {
	if l.Handle == "" {
		return l.Kind + " " + l.What
	}
	return fmt.Sprintf("%s %s (handle %s)", l.Kind, l.What, l.Handle)
}

// Instance is where one gdn instance keeps what it owns. An empty field
// leaves that part unchecked (see the package comment); Defaults fills
// every field as the tools would.
type Instance struct {
	Depot, Store, RuntimeRoot, NetState string
	// NftTable is the nftables table (family ip); it also names the
	// instance's devices.
	NftTable string
	// CgroupParent is the absolute cgroup path the containers' cgroups
	// are made under ("/garden", "/garden-TAG").
	CgroupParent string
	// Owned, if set, says which handles found under CgroupParent (by
	// cgroup, or by a process's cgroup) are this instance's: for test runs
	// that share a parent. Nil: all are.
	Owned func(handle string) bool
	// InitBin, if set, is the init binary this instance's containers
	// bind-mount: a process under CgroupParent whose root shows another
	// file there is another instance's, and so is its cgroup. For runs
	// that share a parent and may reuse each other's handle names.
	InitBin string

	except map[string]bool
}

// Default homes of the tools (the default instance's). With a tag, each is
// scoped by tag.Scoped, as gdn-server scopes its default depot and store
// (/var/run/gdn/depot-TAG), the cgroup parent and the table.
const (
	defaultDepot       = "/var/run/gdn/depot"
	defaultStore       = "/var/lib/gdn/store"
	defaultNetState    = "/var/lib/gdn/net"
	defaultRuntimeRoot = "/run/runc"
	defaultParent      = "/garden"
	defaultTable       = "gdn"
)

// Defaults returns the instance of tag t (validated; "" is the default
// instance) at the tools' default homes.
func Defaults(t string) (Instance, error) {
	if err := tag.Validate(t); err != nil {
		return Instance{}, err
	}
	return Instance{
		Depot:        tag.Scoped(defaultDepot, t),
		Store:        tag.Scoped(defaultStore, t),
		NetState:     tag.Scoped(defaultNetState, t),
		RuntimeRoot:  tag.Scoped(defaultRuntimeRoot, t),
		CgroupParent: tag.Scoped(defaultParent, t),
		NftTable:     tag.Scoped(defaultTable, t),
	}, nil
}

// Except returns a copy of i that does not report what handles own:
// containers that are meant to be alive.
func (i Instance) Except(handles ...string) Instance {
	ex := make(map[string]bool, len(i.except)+len(handles))
	for h := range i.except {
		ex[h] = true
	}
	for _, h := range handles {
		ex[h] = true
	}
	i.except = ex
	return i
}

// Check lists the instance's leftovers, sorted by kind and name. It reads
// only. A relative path is errkind.InvalidSpec; another error means a part
// could not be read (the leaks found in the other parts are still
// returned).
func (i Instance) Check() ([]Leak, error) {
	for _, p := range []string{i.Depot, i.Store, i.RuntimeRoot, i.NetState} {
		if p != "" && !filepath.IsAbs(p) {
			return nil, fmt.Errorf("leakcheck: path %q is not absolute: %w", p, errkind.InvalidSpec)
		}
	}
	if i.CgroupParent != "" && (!filepath.IsAbs(i.CgroupParent) || filepath.Clean(i.CgroupParent) == "/") {
		return nil, fmt.Errorf("leakcheck: cgroup parent %q is not an absolute path below the root: %w", i.CgroupParent, errkind.InvalidSpec)
	}
	c := newCheck(i)
	var errs []error
	for _, part := range []func() error{
		c.depot, c.runtime, c.store, c.mounts, c.cgroups, c.processes,
		c.netState, c.pools, c.links, c.nft,
	} {
		if err := part(); err != nil {
			errs = append(errs, err)
		}
	}
	sort.Slice(c.leaks, func(a, b int) bool {
		la, lb := c.leaks[a], c.leaks[b]
		if la.Kind != lb.Kind {
			return la.Kind < lb.Kind
		}
		return la.What < lb.What
	})
	return c.leaks, errors.Join(errs...)
}
