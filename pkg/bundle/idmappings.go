package bundle

import (
	"errors"

	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// IDMappings maps an unprivileged container's uids and gids to host ids:
// container root to the host's maximus id, which owns nothing, and every
// other id to itself (see pkg/idmap). Identity for non-root ids keeps files
// shared through bind mounts owned by the same numeric user on both sides.
// Privileged containers have no user namespace and get no mappings.
type IDMappings struct {
	UID []idmap.Mapping
	GID []idmap.Mapping
}

// Apply implements Rule. It fails when the container is unprivileged and
// either list is empty, since the runtime would then reject the spec.
func (r IDMappings) Apply(spec *specs.Spec, d Desired) error {
	if d.Privileged {
		return nil
	}
	if len(r.UID) == 0 || len(r.GID) == 0 {
		return errors.New("unprivileged container needs uid and gid mappings")
	}
	l := linuxOf(spec)
	l.UIDMappings = toSpec(r.UID)
	l.GIDMappings = toSpec(r.GID)
	return nil
}

func toSpec(ms []idmap.Mapping) []specs.LinuxIDMapping {
	out := make([]specs.LinuxIDMapping, len(ms))
	for i, m := range ms {
		out[i] = specs.LinuxIDMapping{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size}
	}
	return out
}
