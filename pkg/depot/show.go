package depot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Summary describes a stored container, as read back from its bundle.
type Summary struct {
	Handle string `json:"handle"`
	// Bundle is the absolute bundle directory.
	Bundle string `json:"bundle"`
	// Rootfs is the spec's root.path.
	Rootfs string `json:"rootfs"`
	// Privileged is true when the spec has no user namespace.
	Privileged bool   `json:"privileged"`
	Limits     Limits `json:"limits"`
	// Created is the bundle's gdn.created annotation, or the modification
	// time of config.json when the annotation is missing.
	Created    time.Time         `json:"created"`
	Properties map[string]string `json:"properties"`
}

// Limits are the cgroup limits recorded in a bundle; 0 means none.
type Limits struct {
	MemoryBytes int64  `json:"memory_bytes"`
	CPUShares   uint64 `json:"cpu_shares"`
	PidsMax     int64  `json:"pids_max"`
}

// Show returns the summary of handle h. An unknown handle is
// errkind.ContainerNotFound; an unreadable config.json is an internal error.
func (d *Depot) Show(h string) (Summary, error) {
	if err := d.check(h); err != nil {
		return Summary{}, err
	}
	dir := d.path(h)
	spec, mtime, err := readSpec(filepath.Join(dir, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Summary{}, notFound(h)
	}
	if err != nil {
		return Summary{}, err
	}
	props, err := d.Properties(h)
	if err != nil {
		return Summary{}, err
	}
	s := Summary{Handle: h, Bundle: dir, Privileged: true, Created: mtime.UTC(), Properties: props}
	if spec.Root != nil {
		s.Rootfs = spec.Root.Path
	}
	if t, err := time.Parse(time.RFC3339Nano, spec.Annotations[bundle.AnnotationCreated]); err == nil {
		s.Created = t
	}
	if l := spec.Linux; l != nil {
		for _, ns := range l.Namespaces {
			if ns.Type == specs.UserNamespace {
				s.Privileged = false
			}
		}
		s.Limits = limitsOf(l.Resources)
	}
	return s, nil
}

func limitsOf(r *specs.LinuxResources) Limits {
	var lim Limits
	if r == nil {
		return lim
	}
	if r.Memory != nil && r.Memory.Limit != nil {
		lim.MemoryBytes = *r.Memory.Limit
	}
	if r.CPU != nil && r.CPU.Shares != nil {
		lim.CPUShares = *r.CPU.Shares
	}
	if r.Pids != nil && r.Pids.Limit != nil {
		lim.PidsMax = *r.Pids.Limit
	}
	return lim
}

// readSpec decodes the config.json at path and returns its mtime too.
func readSpec(path string) (*specs.Spec, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("depot: %w", err)
	}
	var spec specs.Spec
	if err := json.NewDecoder(f).Decode(&spec); err != nil {
		return nil, time.Time{}, fmt.Errorf("depot: decode %q: %w", path, err)
	}
	return &spec, fi.ModTime(), nil
}
