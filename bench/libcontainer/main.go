// Command libcontainer is the benchmark baseline for gdn-run: the least a
// program embedding runc's libcontainer must do to create a container from
// a bundle, start its init, kill it and delete it, in one process with no
// state checks, no CLI conventions and no error classification.
//
// Usage: libcontainer ROOT ID BUNDLE
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
	}
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: libcontainer ROOT ID BUNDLE")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(root, id, bundle string) error {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return err
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return err
	}
	if err := os.Chdir(bundle); err != nil {
		return err
	}
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: id, NoNewKeyring: true, Spec: &spec})
	if err != nil {
		return err
	}
	c, err := libcontainer.Create(root, id, cfg)
	if err != nil {
		return err
	}
	defer c.Destroy()
	nnp := spec.Process.NoNewPrivileges
	caps := spec.Process.Capabilities
	p := &libcontainer.Process{
		Args: spec.Process.Args, Env: spec.Process.Env, Cwd: spec.Process.Cwd, Init: true,
		NoNewPrivileges: &nnp,
		Capabilities: &configs.Capabilities{Bounding: caps.Bounding, Effective: caps.Effective,
			Inheritable: caps.Inheritable, Permitted: caps.Permitted},
	}
	for _, rl := range spec.Process.Rlimits {
		if rl.Type == "RLIMIT_NOFILE" {
			p.Rlimits = append(p.Rlimits, configs.Rlimit{Type: unix.RLIMIT_NOFILE, Hard: rl.Hard, Soft: rl.Soft})
		}
	}
	if err := c.Run(p); err != nil {
		return err
	}
	if err := c.Signal(unix.SIGKILL); err != nil {
		return err
	}
	_, _ = p.Wait()
	return c.Destroy()
}
