package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/handle"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// PeaSpec makes a process a "pea" (a partially unshared process, reference
// §1.4): a runtime container of its own, with its own mount namespace and
// rootfs, that shares the network, pid, ipc, uts and user namespaces of
// the container's init.
type PeaSpec struct {
	// Image is the pea's rootfs: an absolute host directory. Until
	// gdn-rootfs exists it is mounted read-only, with a tmpfs at /tmp.
	Image string `json:"image"`
	// BindMounts are mounted into the pea only.
	BindMounts []BindMount `json:"bind_mounts,omitempty"`
	// Limits, when set, give the pea a cgroup of its own beside the
	// container's with these limits; otherwise its cgroup is nested in
	// the container's and shares its limits.
	Limits *PeaLimits `json:"limits,omitempty"`
}

// BindMount mounts host path Source at Destination.
type BindMount struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	ReadOnly    bool   `json:"read_only"`
}

// PeaLimits override a pea's cgroup limits; zero means none.
type PeaLimits struct {
	MemoryBytes uint64 `json:"memory_bytes,omitempty"`
	CPUShares   uint64 `json:"cpu_shares,omitempty"`
}

// AnnotationPeaOf records, in a pea's spec, the container it belongs to.
const AnnotationPeaOf = "gdn.pea-of"

// sharedNamespaces are the namespaces a pea joins, with their /proc names.
var sharedNamespaces = map[specs.LinuxNamespaceType]string{
	specs.NetworkNamespace: "net", specs.PIDNamespace: "pid", specs.IPCNamespace: "ipc",
	specs.UTSNamespace: "uts", specs.UserNamespace: "user",
}

// PreparePea prepares spec to run as pea id of container h: the full
// runtime spec of the pea (Prepared.Spec), derived from the container's
// own (capabilities, seccomp, masked paths, devices), and its process. The
// user is looked up in the pea's image; the working directory defaults to
// "/". Errors: those of PrepareProcess, and errkind.InvalidSpec for a bad
// image or bind mount.
func (r *Runtime) PreparePea(h, id string, spec ExecSpec) (*Prepared, error) {
	if err := handle.Validate(id); err != nil {
		return nil, fmt.Errorf("process id: %w", err)
	}
	pea := spec.Pea
	if pea == nil || !filepath.IsAbs(pea.Image) {
		return nil, fmt.Errorf("pea %q: image must be an absolute rootfs directory: %w", id, errkind.InvalidSpec)
	}
	if st, err := os.Stat(pea.Image); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("pea %q: image %q is not a directory: %w", id, pea.Image, errkind.InvalidSpec)
	}
	state, err := r.loadRunning(h)
	if err != nil {
		return nil, err
	}
	bundle := bundleOf(state.Config.Labels)
	peaSpec, err := readSpec(bundle)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(pea.Image)
	if err != nil {
		return nil, fmt.Errorf("pea %q: image: %w: %w", id, err, errkind.InvalidSpec)
	}
	defer root.Close()
	if spec.Dir == "" {
		spec.Dir = "/"
	}
	p, err := buildProcess(peaSpec.Process, root, spec, state.Config)
	if err != nil {
		return nil, fmt.Errorf("pea %q: %w", id, err)
	}
	if err := shapePea(peaSpec, h, id, state.InitProcessPid, pea); err != nil {
		return nil, fmt.Errorf("pea %q: %w", id, err)
	}
	peaSpec.Process = p.Process
	p.Spec, p.Pea, p.Bundle = peaSpec, id, bundle
	return p, nil
}

// shapePea turns a copy of the container's spec into the pea's.
func shapePea(s *specs.Spec, h, id string, initPid int, pea *PeaSpec) error {
	s.Root = &specs.Root{Path: pea.Image, Readonly: true}
	s.Hostname = ""
	s.Annotations = map[string]string{"gdn.handle": id, AnnotationPeaOf: h}
	for i, ns := range s.Linux.Namespaces {
		if name, ok := sharedNamespaces[ns.Type]; ok {
			s.Linux.Namespaces[i].Path = "/proc/" + strconv.Itoa(initPid) + "/ns/" + name
		}
	}
	// Joining the container's user namespace brings its mappings.
	s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
	s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/tmp/garden-init" })
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}})
	for _, bm := range pea.BindMounts {
		if !filepath.IsAbs(bm.Source) || !filepath.IsAbs(bm.Destination) {
			return fmt.Errorf("bind mount %q:%q: paths must be absolute: %w", bm.Source, bm.Destination, errkind.InvalidSpec)
		}
		if _, err := os.Stat(bm.Source); err != nil {
			return fmt.Errorf("bind mount source %q: %w: %w", bm.Source, err, errkind.InvalidSpec)
		}
		mode := "rw"
		if bm.ReadOnly {
			mode = "ro"
		}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: bm.Destination, Type: "bind", Source: bm.Source, Options: []string{"rbind", mode}})
	}
	parent := s.Linux.CgroupsPath
	res := s.Linux.Resources
	if res == nil {
		res = &specs.LinuxResources{}
	}
	// Nested, it shares the container's limits through its parent.
	res.Memory, res.CPU, res.Pids = nil, nil, nil
	s.Linux.CgroupsPath = parent + "/" + id
	if l := pea.Limits; l != nil {
		s.Linux.CgroupsPath = filepath.Join(filepath.Dir(parent), id)
		if l.MemoryBytes > 0 {
			limit := int64(l.MemoryBytes)
			res.Memory = &specs.LinuxMemory{Limit: &limit}
		}
		if l.CPUShares > 0 {
			shares := l.CPUShares
			res.CPU = &specs.LinuxCPU{Shares: &shares}
		}
	}
	s.Linux.Resources = res
	return nil
}

// readSpec reads a bundle's config.json whole.
func readSpec(bundle string) (*specs.Spec, error) {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("bundle of container: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil || spec.Process == nil || spec.Linux == nil {
		return nil, fmt.Errorf("bundle %q: bad config.json: %w", bundle, errkind.InvalidSpec)
	}
	return &spec, nil
}
