// Package port hands out host ports for net-in mappings from a fixed
// range, least recently used first (reference guardian-internals §5.3): a
// released port goes to the back of the queue, so a port just freed is
// the last to be reused, and clients still pointing at it are less likely
// to reach the wrong container.
//
// Pool is pure data; Update keeps one on disk under a lock.
package port

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/statefile"
)

// Guardian's default range: 61001 to 65534.
const (
	DefaultStart = 61001
	DefaultSize  = 4534
)

// Pool is the queue of free ports of a range.
type Pool struct {
	Start uint32   `json:"start"`
	Size  uint32   `json:"size"`
	Free  []uint32 `json:"free"`
}

// NewPool returns a full pool over [start, start+size). A range past
// 65535 is errkind.InvalidSpec.
func NewPool(start, size uint32) (*Pool, error) {
	if start == 0 || size == 0 || start+size-1 > 65535 {
		return nil, fmt.Errorf("port pool %d+%d: the range must lie within 1-65535: %w", start, size, errkind.InvalidSpec)
	}
	p := &Pool{Start: start, Size: size, Free: make([]uint32, 0, size)}
	for i := range size {
		p.Free = append(p.Free, start+i)
	}
	return p, nil
}

// Acquire takes the least recently used free port. Errors:
// errkind.PoolExhausted.
func (p *Pool) Acquire() (uint32, error) {
	if len(p.Free) == 0 {
		return 0, fmt.Errorf("port pool %d-%d is exhausted: %w", p.Start, p.Start+p.Size-1, errkind.PoolExhausted)
	}
	port := p.Free[0]
	p.Free = p.Free[1:]
	return port, nil
}

// Remove takes a specific port out of the queue (one a container already
// uses, found again after a restart); ok is false if it was not free.
func (p *Pool) Remove(port uint32) (ok bool) {
	i := slices.Index(p.Free, port)
	if i < 0 {
		return false
	}
	p.Free = slices.Delete(p.Free, i, i+1)
	return true
}

// Release puts a port at the back of the queue. Ports outside the range,
// or already free, are ignored.
func (p *Pool) Release(port uint32) {
	if port < p.Start || port >= p.Start+p.Size || slices.Contains(p.Free, port) {
		return
	}
	p.Free = append(p.Free, port)
}

// Update runs fn on the pool kept in path under an exclusive lock and
// writes it back atomically if fn succeeds. A missing or unreadable
// (corrupt) file, or one for another range, is a full pool over [start,
// start+size) from which rebuild, if not nil, removes the ports in use.
func Update(path string, start, size uint32, rebuild func(*Pool) error, fn func(*Pool) error) error {
	return statefile.Update(path, func(data []byte) (*Pool, error) {
		var onDisk Pool
		if data != nil && json.Unmarshal(data, &onDisk) == nil && onDisk.Start == start && onDisk.Size == size {
			return &onDisk, nil
		}
		p, err := NewPool(start, size)
		if err != nil {
			return nil, err
		}
		if rebuild != nil {
			if err := rebuild(p); err != nil {
				return nil, fmt.Errorf("rebuild: %w", err)
			}
		}
		return p, nil
	}, fn)
}
