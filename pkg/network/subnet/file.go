package subnet

import (
	"fmt"
	"net/netip"

	"github.com/gdn-dev/gdn/pkg/statefile"
)

// Update runs fn on the pool kept in path, under an exclusive lock on
// path+".lock", and writes the result back atomically if fn succeeds. A
// missing or unreadable (corrupt) file is an empty pool over dynamic that
// rebuild, if not nil, fills from what else records the allocations
// (gdn-net's container states). The dynamic range is always
// the one given (the operator may change --network-pool; allocations
// already made stay). Crash-safe: a killed Update leaves the old file.
func Update(path string, dynamic netip.Prefix, rebuild func(*Pool) error, fn func(*Pool) error) error {
	return statefile.Update(path, func(data []byte) (*Pool, error) {
		p, err := NewPool(dynamic)
		if err != nil {
			return nil, err
		}
		if data != nil && p.UnmarshalJSON(data) == nil {
			if p.Allocated == nil {
				p.Allocated = map[netip.Prefix][]netip.Addr{}
			}
			p.Dynamic = dynamic
			return p, nil
		}
		p.Allocated = map[netip.Prefix][]netip.Addr{}
		if rebuild != nil {
			if err := rebuild(p); err != nil {
				return nil, fmt.Errorf("rebuild: %w", err)
			}
		}
		return p, nil
	}, fn)
}
