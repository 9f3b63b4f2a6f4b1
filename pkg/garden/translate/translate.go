// Package translate turns Garden API requests (pkg/garden) into the
// request types of gdn's tools: a ContainerSpec into gdn-depot's bundle
// request, a ProcessSpec into gdn-run's exec and pea requests. pkg/garden
// itself stays plain wire types, so its client needs none of the tools.
package translate

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/runtime"
)

// Desired converts s into the bundle request of the container and its
// initial properties (a copy). It does not set what the image plugin
// provides (Rootfs, ImageEnv, ImageMounts) nor Desired.Created. A bind
// mount mode or origin outside the API's values, or a pid limit above
// MaxInt64, is errkind.InvalidSpec; paths and env entries are checked by
// the bundle rules.
func Desired(s garden.ContainerSpec) (bundle.Desired, map[string]string, error) {
	d := bundle.Desired{
		Handle:     s.Handle,
		Env:        slices.Clone(s.Env),
		Privileged: s.Privileged,
	}
	for _, bm := range s.BindMounts {
		if err := checkBindMount(bm); err != nil {
			return bundle.Desired{}, nil, err
		}
		d.BindMounts = append(d.BindMounts, bundle.BindMount{
			Source: bm.SrcPath, Destination: bm.DstPath, ReadOnly: bm.Mode == garden.BindMountModeRO,
		})
	}
	if s.Limits.Pid.Max > math.MaxInt64 {
		return bundle.Desired{}, nil, fmt.Errorf("pid limit %d is too large: %w", s.Limits.Pid.Max, errkind.InvalidSpec)
	}
	d.Limits = bundle.Limits{
		MemoryBytes: s.Limits.Memory.LimitInBytes,
		CPUShares:   s.Limits.CPU.Weight,
		PidsMax:     int64(s.Limits.Pid.Max),
	}
	if d.Limits.CPUShares == 0 {
		d.Limits.CPUShares = s.Limits.CPU.LimitInShares
	}
	return d, maps.Clone(s.Properties), nil
}

// checkBindMount refuses a mode or origin outside the API's values, so
// that an unknown mode is never taken for read-write.
func checkBindMount(bm garden.BindMount) error {
	if bm.Mode > garden.BindMountModeRW || bm.Origin > garden.BindMountOriginContainer {
		return fmt.Errorf("bind mount %q: mode %d or origin %d out of range: %w", bm.DstPath, bm.Mode, bm.Origin, errkind.InvalidSpec)
	}
	return nil
}

// ExecSpec converts s into the runtime's request; with Image.URI set the
// process is a pea (see PeaSpec). A bind mount without an image is
// Guardian's own error.
func ExecSpec(s garden.ProcessSpec) (runtime.ExecSpec, error) {
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
		Rlimits: rlimits(s.Limits),
	}
	if s.Image.URI != "" {
		pea, err := PeaSpec(s)
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

// rlimits returns the set limits keyed by their rlimit names.
func rlimits(l garden.ResourceLimits) map[string]uint64 {
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
// "/path" or "raw:///path"; gdn-server has the image plugin make one for
// any other URI first, so anything else is errkind.InvalidSpec), bind
// mounts, and override limits. Bind mount modes and origins, and CPU
// shares, are checked as for a container.
func PeaSpec(s garden.ProcessSpec) (*runtime.PeaSpec, error) {
	path, _ := strings.CutPrefix(s.Image.URI, "raw://")
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("process image %q: gdn-run takes a rootfs directory (/path or raw:///path); make one with gdn-rootfs create: %w", s.Image.URI, errkind.InvalidSpec)
	}
	pea := &runtime.PeaSpec{Image: path}
	for _, bm := range s.BindMounts {
		if err := checkBindMount(bm); err != nil {
			return nil, err
		}
		pea.BindMounts = append(pea.BindMounts, runtime.BindMount{Source: bm.SrcPath, Destination: bm.DstPath, ReadOnly: bm.Mode == garden.BindMountModeRO})
	}
	if l := s.OverrideContainerLimits; l != nil {
		shares := l.CPU.Weight
		if shares == 0 {
			shares = l.CPU.LimitInShares
		}
		// As for a container (bundle.CgroupLimits): shares of 1 are
		// refused, memory above MaxInt64 is capped.
		if shares == 1 {
			return nil, fmt.Errorf("pea cpu shares must be at least 2, got 1: %w", errkind.InvalidSpec)
		}
		pea.Limits = &runtime.PeaLimits{MemoryBytes: min(l.Memory.LimitInBytes, math.MaxInt64), CPUShares: shares}
	}
	return pea, nil
}
