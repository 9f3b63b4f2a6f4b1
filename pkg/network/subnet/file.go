package subnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/flock"
)

// Update runs fn on the pool kept in path, under an exclusive lock on
// path+".lock", and writes the result back atomically if fn succeeds. A
// missing or unreadable (corrupt) file is an empty pool over dynamic that
// rebuild, if not nil, fills from what else records the allocations
// (gdn-net's container states). The dynamic range is always
// the one given (the operator may change --network-pool; allocations
// already made stay). Crash-safe: a killed Update leaves the old file.
func Update(path string, dynamic netip.Prefix, rebuild func(*Pool) error, fn func(*Pool) error) error {
	lock, err := flock.Acquire(path + ".lock")
	if err != nil {
		return err
	}
	defer lock.Release()
	p, err := NewPool(dynamic)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("subnet pool %q: %w", path, err)
	}
	if err == nil && json.Unmarshal(data, p) == nil {
		if p.Allocated == nil {
			p.Allocated = map[netip.Prefix][]netip.Addr{}
		}
		p.Dynamic = dynamic
	} else {
		p.Allocated = map[netip.Prefix][]netip.Addr{}
		if rebuild != nil {
			if err := rebuild(p); err != nil {
				return fmt.Errorf("subnet pool %q: rebuild: %w", path, err)
			}
		}
	}
	if err := fn(p); err != nil {
		return err
	}
	out, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, out, 0o600)
}
