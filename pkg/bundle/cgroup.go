package bundle

import (
	"fmt"
	"path"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// Cgroup places every container, privileged or not, in the cgroup
// Parent/handle. This deliberately differs from Guardian, which leaves a
// privileged container's path empty so that the runtime picks one: an
// absolute path under one parent keeps every container's cgroup findable
// (for stats, OOM events and cleanup after a crash) and under the parent's
// limits.
type Cgroup struct {
	// Parent is an absolute cgroup path, e.g. DefaultCgroupParent.
	Parent string
}

// Apply implements Rule. A relative Parent is an error: runc would place
// the cgroup relative to its caller's own cgroup.
func (r Cgroup) Apply(spec *specs.Spec, d Desired) error {
	if !path.IsAbs(r.Parent) {
		return fmt.Errorf("cgroup parent %q is not an absolute cgroup path", r.Parent)
	}
	linuxOf(spec).CgroupsPath = path.Join(r.Parent, d.Handle)
	return nil
}
