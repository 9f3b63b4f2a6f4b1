// Package idmap computes the uid/gid mapping of unprivileged containers, the
// one Guardian calls "maximus": container root becomes the highest id valid
// on the host (4294967294 in the initial user namespace, an id no real user
// has), and every other container id maps to the same host id. So files
// written by container uid 1000 belong to host uid 1000, and container root
// owns nothing on the host.
//
// Parse and Maximus are pure and work on the text of /proc/self/uid_map or
// gid_map; Read is the thin reader of those files. The package does not set
// up mappings itself: it only computes them.
package idmap

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// The files that list the ids valid in the current user namespace.
const (
	UIDMapPath = "/proc/self/uid_map"
	GIDMapPath = "/proc/self/gid_map"
)

// Mapping maps Size consecutive ids starting at ContainerID inside a user
// namespace to ids starting at HostID outside it. In a parsed
// /proc/self/uid_map, ContainerID is the id in this process's namespace.
type Mapping struct {
	ContainerID uint32 `json:"container_id"`
	HostID      uint32 `json:"host_id"`
	Size        uint32 `json:"size"`
}

// Parse reads the lines of a uid_map or gid_map file ("inside outside
// size", whitespace separated). Blank lines are ignored; any other line that
// is not three unsigned 32-bit numbers with a non-zero size is an error.
func Parse(text string) ([]Mapping, error) {
	var ms []Mapping
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 {
			return nil, fmt.Errorf("id map line %d: want 3 fields, got %d", n, len(fields))
		}
		var v [3]uint32
		for i, f := range fields {
			u, err := strconv.ParseUint(f, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("id map line %d: %w", n, err)
			}
			v[i] = uint32(u)
		}
		if v[2] == 0 {
			return nil, fmt.Errorf("id map line %d: size is zero", n)
		}
		ms = append(ms, Mapping{ContainerID: v[0], HostID: v[1], Size: v[2]})
	}
	return ms, sc.Err()
}

// Maximus returns the highest id valid in the namespace described by ms,
// that is the largest ContainerID+Size-1. It is an error when ms is empty
// (no id is valid) or a line runs past the 32-bit id space.
func Maximus(ms []Mapping) (uint32, error) {
	if len(ms) == 0 {
		return 0, fmt.Errorf("id map is empty")
	}
	var maxID uint64
	for _, m := range ms {
		last := uint64(m.ContainerID) + uint64(m.Size) - 1
		if last > 1<<32-1 {
			return 0, fmt.Errorf("id map line %d %d %d runs past the 32-bit id space", m.ContainerID, m.HostID, m.Size)
		}
		maxID = max(maxID, last)
	}
	return uint32(maxID), nil
}

// Mappings returns the unprivileged container mapping for maximus: container
// 0 to host maximus (size 1), and container 1.. to host 1.. for
// maximus-1 ids, so that the two ranges never overlap. When maximus is 0
// only the root line is returned.
func Mappings(maximus uint32) []Mapping {
	ms := []Mapping{{ContainerID: 0, HostID: maximus, Size: 1}}
	if maximus > 1 {
		ms = append(ms, Mapping{ContainerID: 1, HostID: 1, Size: maximus - 1})
	}
	return ms
}

// RangeMappings is Mappings with the unprivileged ids placed where the
// operator says (Guardian's --uid-map-start/--uid-map-length): container
// 0 to host maximus, container 1.. to host start.. for length ids. The
// range must lie within 1..maximus-1, so it never meets root's line.
func RangeMappings(maximus, start, length uint32) ([]Mapping, error) {
	if start == 0 || length == 0 || uint64(start)+uint64(length) > uint64(maximus) {
		return nil, fmt.Errorf("id map range %d+%d must lie within 1..%d: %w", start, length, maximus-1, errkind.InvalidSpec)
	}
	return []Mapping{{ContainerID: 0, HostID: maximus, Size: 1}, {ContainerID: 1, HostID: start, Size: length}}, nil
}

// Read parses the id map file at path (UIDMapPath or GIDMapPath).
func Read(path string) ([]Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read id map: %w", err)
	}
	ms, err := Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", path, err)
	}
	return ms, nil
}

// ReadMaximus returns Maximus of the id map file at path.
func ReadMaximus(path string) (uint32, error) {
	ms, err := Read(path)
	if err != nil {
		return 0, err
	}
	m, err := Maximus(ms)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", path, err)
	}
	return m, nil
}

// ToContainer maps a host id to the container id that ms give it; ok is
// false for an id outside every mapping. With no mappings (no user
// namespace) ids are the same inside and out.
func ToContainer(ms []Mapping, host uint32) (id uint32, ok bool) {
	if len(ms) == 0 {
		return host, true
	}
	for _, m := range ms {
		if host >= m.HostID && host-m.HostID < m.Size {
			return m.ContainerID + (host - m.HostID), true
		}
	}
	return 0, false
}

// ToHost maps a container id to its host id; ok is false for an id no
// mapping covers. With no mappings ids are the same inside and out.
func ToHost(ms []Mapping, id uint32) (host uint32, ok bool) {
	if len(ms) == 0 {
		return id, true
	}
	for _, m := range ms {
		if id >= m.ContainerID && id-m.ContainerID < m.Size {
			return m.HostID + (id - m.ContainerID), true
		}
	}
	return 0, false
}
