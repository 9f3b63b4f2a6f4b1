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
// path+".lock", and writes the result back atomically if fn succeeds; a
// missing file is an empty pool over dynamic. The dynamic range is always
// the one given (the operator may change --network-pool; allocations
// already made stay). Crash-safe: a killed Update leaves the old file.
func Update(path string, dynamic netip.Prefix, fn func(*Pool) error) error {
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
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("subnet pool %q: %w", path, err)
	default:
		if err := json.Unmarshal(data, p); err != nil {
			return fmt.Errorf("subnet pool %q: %w", path, err)
		}
		if p.Allocated == nil {
			p.Allocated = map[netip.Prefix][]netip.Addr{}
		}
		p.Dynamic = dynamic
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
