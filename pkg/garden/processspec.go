package garden

import (
	"fmt"
	"strings"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/runtime"
)

// ProcessSpec is the body of POST /containers/:handle/processes: a process
// to run in a container.
type ProcessSpec struct {
	// ID names the process; empty lets the backend choose a UUID.
	ID string `json:"id,omitempty"`
	// Path is the executable, looked up in PATH.
	Path string `json:"path"`
	// Args are the arguments, without argv[0].
	Args []string `json:"args,omitempty"`
	// Env is appended to the container's environment.
	Env []string `json:"env,omitempty"`
	// Dir is the working directory; the user's home when empty.
	Dir string `json:"dir,omitempty"`
	// User is a name or "uid:gid"; empty means root.
	User string `json:"user,omitempty"`
	// Limits are the process's rlimits (soft = hard).
	Limits ResourceLimits `json:"rlimits"`
	// OverrideContainerLimits applies only to peas (Image set).
	OverrideContainerLimits *ProcessLimits `json:"limits,omitempty"`
	// TTY runs the process on a terminal when present.
	TTY *TTYSpec `json:"tty,omitempty"`
	// Image, when its URI is set, runs the process as a pea.
	Image ImageRef `json:"image"`
	// BindMounts are allowed only with Image.
	BindMounts []BindMount `json:"bind_mounts,omitempty"`
}

// ResourceLimits are a process's rlimits; nil means unset.
type ResourceLimits struct {
	As         *uint64 `json:"as,omitempty"`
	Core       *uint64 `json:"core,omitempty"`
	Cpu        *uint64 `json:"cpu,omitempty"`
	Data       *uint64 `json:"data,omitempty"`
	Fsize      *uint64 `json:"fsize,omitempty"`
	Locks      *uint64 `json:"locks,omitempty"`
	Memlock    *uint64 `json:"memlock,omitempty"`
	Msgqueue   *uint64 `json:"msgqueue,omitempty"`
	Nice       *uint64 `json:"nice,omitempty"`
	Nofile     *uint64 `json:"nofile,omitempty"`
	Nproc      *uint64 `json:"nproc,omitempty"`
	Rss        *uint64 `json:"rss,omitempty"`
	Rtprio     *uint64 `json:"rtprio,omitempty"`
	Sigpending *uint64 `json:"sigpending,omitempty"`
	Stack      *uint64 `json:"stack,omitempty"`
}

// ProcessLimits override a pea's cgroup limits.
type ProcessLimits struct {
	CPU    CPULimits    `json:"cpu_limits"`
	Memory MemoryLimits `json:"memory_limits"`
}

// TTYSpec asks for a terminal of the given size.
type TTYSpec struct {
	WindowSize *WindowSize `json:"window_size,omitempty"`
}

// WindowSize is a terminal's size; 0 means the default 80x24.
type WindowSize struct {
	Columns uint16 `json:"columns,omitempty"`
	Rows    uint16 `json:"rows,omitempty"`
}

// ExecSpec converts s into the runtime's request; with Image.URI set the
// process is a pea (see PeaSpec). A bind mount without an image is
// Guardian's own error.
func (s ProcessSpec) ExecSpec() (runtime.ExecSpec, error) {
	if s.Path == "" {
		return runtime.ExecSpec{}, fmt.Errorf("process spec: no path: %w", errkind.InvalidSpec)
	}
	if len(s.BindMounts) > 0 && s.Image.URI == "" {
		//lint:ignore ST1005 Guardian's message, which clients may match
		return runtime.ExecSpec{}, fmt.Errorf("Running a process with bind mounts and no image provided is not allowed: %w", errkind.InvalidSpec)
	}
	e := runtime.ExecSpec{
		Args:    append([]string{s.Path}, s.Args...),
		Env:     s.Env,
		User:    s.User,
		Dir:     s.Dir,
		Rlimits: s.Limits.byName(),
	}
	if s.Image.URI != "" {
		pea, err := s.PeaSpec()
		if err != nil {
			return runtime.ExecSpec{}, err
		}
		e.Pea = pea
	}
	if s.TTY != nil {
		e.TTY = &runtime.WindowSize{}
		if ws := s.TTY.WindowSize; ws != nil {
			e.TTY.Columns, e.TTY.Rows = ws.Columns, ws.Rows
		}
	}
	return e, nil
}

// byName returns the set limits keyed by their rlimit names.
func (l ResourceLimits) byName() map[string]uint64 {
	out := map[string]uint64{}
	for name, v := range map[string]*uint64{
		"as": l.As, "core": l.Core, "cpu": l.Cpu, "data": l.Data, "fsize": l.Fsize,
		"locks": l.Locks, "memlock": l.Memlock, "msgqueue": l.Msgqueue, "nice": l.Nice,
		"nofile": l.Nofile, "nproc": l.Nproc, "rss": l.Rss, "rtprio": l.Rtprio,
		"sigpending": l.Sigpending, "stack": l.Stack,
	} {
		if v != nil {
			out[name] = *v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// PeaSpec converts the pea part of s: the image (a rootfs directory, as
// "/path" or "raw:///path"; image URIs need gdn-rootfs, which does not
// exist yet: errkind.InvalidSpec), bind mounts, and override limits.
func (s ProcessSpec) PeaSpec() (*runtime.PeaSpec, error) {
	path, _ := strings.CutPrefix(s.Image.URI, "raw://")
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("process image %q: only rootfs directories (/path or raw:///path) are supported until gdn-rootfs exists: %w", s.Image.URI, errkind.InvalidSpec)
	}
	pea := &runtime.PeaSpec{Image: path}
	for _, bm := range s.BindMounts {
		pea.BindMounts = append(pea.BindMounts, runtime.BindMount{Source: bm.SrcPath, Destination: bm.DstPath, ReadOnly: bm.Mode == BindMountModeRO})
	}
	if l := s.OverrideContainerLimits; l != nil {
		shares := l.CPU.Weight
		if shares == 0 {
			shares = l.CPU.LimitInShares
		}
		pea.Limits = &runtime.PeaLimits{MemoryBytes: l.Memory.LimitInBytes, CPUShares: shares}
	}
	return pea, nil
}
