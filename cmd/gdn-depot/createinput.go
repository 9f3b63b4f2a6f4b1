package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/bytesize"
	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/translate"
	"github.com/gdn-dev/gdn/pkg/tag"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
)

// createOpts holds create's flags.
type createOpts struct {
	// idRange: --uid-map-start, --uid-map-length, --gid-map-start,
	// --gid-map-length (0 length: the default mapping).
	idRange                           [4]uint32
	rootfs, specFile, memory, initBin string
	env, bindMounts, props            []string
	privileged, noNewPrivs            bool
	cpuShares, cpuWeight, pids        uint64
}

// desired decodes create's input: the --spec file with the flags laid over
// it, then the rootfs from --rootfs or the partial spec on stdin.
func (o *createOpts) desired(cmd *cobra.Command, h string) (bundle.Desired, map[string]string, error) {
	gs, err := o.gardenSpec(cmd, h)
	if err != nil {
		return bundle.Desired{}, nil, err
	}
	d, props, err := translate.Desired(gs)
	if err != nil {
		return bundle.Desired{}, nil, err
	}
	if o.rootfs != "" {
		d.Rootfs, err = filepath.Abs(o.rootfs)
		if err != nil {
			return bundle.Desired{}, nil, err
		}
	} else {
		var partial specs.Spec
		ok, err := cli.DecodeStdin(cmd, &partial)
		if err != nil {
			return bundle.Desired{}, nil, err
		}
		if !ok {
			partial = specs.Spec{}
		}
		if err := d.FromImage(&partial); err != nil {
			return bundle.Desired{}, nil, err
		}
	}
	d.Created = time.Now()
	return d, props, nil
}

// gardenSpec reads --spec and applies the flags that were given.
func (o *createOpts) gardenSpec(cmd *cobra.Command, h string) (garden.ContainerSpec, error) {
	var gs garden.ContainerSpec
	if o.specFile != "" {
		b, err := os.ReadFile(o.specFile)
		if err != nil {
			return gs, fmt.Errorf("read --spec: %w: %w", err, errkind.InvalidSpec)
		}
		if err := json.Unmarshal(b, &gs); err != nil {
			return gs, fmt.Errorf("decode --spec %q: %w: %w", o.specFile, err, errkind.InvalidSpec)
		}
	}
	if gs.Handle != "" && gs.Handle != h {
		return gs, fmt.Errorf("--spec handle %q differs from argument %q: %w", gs.Handle, h, errkind.InvalidSpec)
	}
	gs.Handle = h
	gs.Env = append(gs.Env, o.env...)
	for _, s := range o.bindMounts {
		bm, err := garden.ParseBindMount(s)
		if err != nil {
			return gs, err
		}
		gs.BindMounts = append(gs.BindMounts, bm)
	}
	props, err := parseKV("property", o.props)
	if err != nil {
		return gs, err
	}
	if len(props) > 0 && gs.Properties == nil {
		gs.Properties = map[string]string{}
	}
	maps.Copy(gs.Properties, props)
	f := cmd.Flags()
	if f.Changed("privileged") {
		gs.Privileged = o.privileged
	}
	if f.Changed("memory-limit") {
		if gs.Limits.Memory.LimitInBytes, err = bytesize.Parse(o.memory); err != nil {
			return gs, err
		}
	}
	if f.Changed("cpu-shares") {
		gs.Limits.CPU.LimitInShares = o.cpuShares
	}
	if f.Changed("cpu-weight") {
		gs.Limits.CPU.Weight = o.cpuWeight
	}
	if f.Changed("pids-limit") {
		gs.Limits.Pid.Max = o.pids
	}
	return gs, nil
}

// bundleConfig probes the host and adds the init binary and options.
func (o *createOpts) bundleConfig() (bundle.Config, error) {
	cfg, err := bundle.HostConfig()
	if err != nil {
		return cfg, err
	}
	if o.initBin != "" {
		if cfg.InitPath, err = filepath.Abs(o.initBin); err != nil {
			return cfg, err
		}
	}
	cfg.NoNewPrivileges = o.noNewPrivs
	// Each instance's containers under its own parent, so that no two
	// instances' containers of one handle share a cgroup.
	t, err := tag.FromEnv()
	if err != nil {
		return cfg, err
	}
	cfg.CgroupParent = tag.Scoped(bundle.DefaultCgroupParent, t)
	if err := cfg.MapIDs(o.idRange[0], o.idRange[1], o.idRange[2], o.idRange[3]); err != nil {
		return cfg, fmt.Errorf("--uid-map-*/--gid-map-*: %w", err)
	}
	return cfg, nil
}
