package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Create creates container h from the bundle directory and starts the
// bundle's process (the sleeping init), returning the container's state
// once the init runs (its host pid, the bundle path with symlinks
// resolved). Errors: errkind.InvalidHandle, errkind.InvalidSpec (no or bad
// config.json, missing rootfs), errkind.HandleInUse. A failed Create
// removes everything it made.
//
// Create changes the working directory of the process to the bundle, as
// libcontainer records the bundle path from it (runc does the same).
func (r *Runtime) Create(_ context.Context, h, bundle string, opts ...CreateOption) (State, error) {
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return State{}, err
	}
	defer devnull.Close()
	var o createOptions
	for _, opt := range opts {
		opt(&o)
	}
	// The init outlives us: give it no stdio of ours to hold open.
	st, _, err := r.createAndRun(h, bundle, ProcessIO{Stdin: devnull, Stdout: devnull, Stderr: devnull}, o)
	return st, err
}

// CreateOption changes what Create does.
type CreateOption func(*createOptions)

type createOptions struct {
	namespacesReady func(pid int)
}

// NamespacesReady has Create call f with the init's host pid as soon as
// the container's namespaces exist and its mounts are made, while the
// init still has most of its setup ahead (pivot_root, the seccomp filter:
// tens of ms). A caller can set up the container's network meanwhile. f
// runs at most once; a Create that then fails removes the container as
// usual, and with it the namespaces.
func NamespacesReady(f func(pid int)) CreateOption {
	return func(o *createOptions) { o.namespacesReady = f }
}

// createAndRun creates container h from bundle and starts its process
// with pio, removing everything again if that fails. It returns the
// container's state and its process's host pid: the state's Pid is 0 when
// the process has already exited (a zombie is "stopped" to libcontainer),
// but a pea that exits at once is still a process its monitor must wait
// for, and its pid stays valid until its parent reaps it.
func (r *Runtime) createAndRun(h, bundle string, pio ProcessIO, opts createOptions) (_ State, pid int, err error) {
	if err := handle.Validate(h); err != nil {
		return State{}, 0, err
	}
	spec, bundle, err := readBundle(bundle)
	if err != nil {
		return State{}, 0, err
	}
	if err := os.Chdir(bundle); err != nil {
		return State{}, 0, fmt.Errorf("bundle %q: %w", bundle, err)
	}
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	if spec.Linux.CgroupsPath == "" {
		spec.Linux.CgroupsPath = path.Join(r.cgroupParent, h)
	}
	cgroupPath := spec.Linux.CgroupsPath
	if err := r.cgroupPathOf(h, cgroupPath); err != nil {
		return State{}, 0, fmt.Errorf("bundle %q: %w", bundle, err)
	}
	if _, err := os.Lstat(filepath.Join(r.root, h)); err == nil {
		return State{}, 0, fmt.Errorf("container %q: %w", h, errkind.HandleInUse)
	}
	if err := cgroupInUse(h, cgroupPath); err != nil {
		return State{}, 0, err
	}
	rootMount, err := takeRootMount(spec)
	if err != nil {
		return State{}, 0, fmt.Errorf("bundle %q: %w", bundle, err)
	}
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName:   h,
		NoNewKeyring: true,
		Spec:         spec,
	})
	if err != nil {
		return State{}, 0, fmt.Errorf("bundle %q: %w: %w", bundle, err, errkind.InvalidSpec)
	}
	// gdn-init loads the profile compiled (see initSeccomp); recordProfile
	// puts it back into the container's recorded configuration once the
	// init has.
	var profile *configs.Seccomp
	var prog []byte
	if initLoadsSeccomp(spec.Process.Args, cfg.Seccomp) {
		if prog, err = r.compiledFilter(cfg.Seccomp); err != nil {
			// A kernel without PTRACE_SECCOMP_GET_FILTER, say: the
			// init compiles the profile itself, as runc's does.
			r.log.Warn("seccomp profile not compiled ahead; the init compiles it", "error", err)
		} else {
			profile, cfg.Seccomp = cfg.Seccomp, nil
		}
	}
	if f := opts.namespacesReady; f != nil {
		// A function hook lives in this process only: libcontainer runs
		// it when the init reports its namespaces made (createRuntime),
		// and never writes it to the state runc reads.
		if cfg.Hooks == nil {
			cfg.Hooks = configs.Hooks{}
		}
		cfg.Hooks[configs.CreateRuntime] = append(cfg.Hooks[configs.CreateRuntime], configs.NewFunctionHook(func(s *specs.State) error {
			f(s.Pid)
			return nil
		}))
	}
	c, err := libcontainer.Create(r.root, h, cfg)
	if errors.Is(err, libcontainer.ErrExist) {
		return State{}, 0, fmt.Errorf("container %q: %w", h, errkind.HandleInUse)
	}
	if err != nil {
		return State{}, 0, fmt.Errorf("create container %q: %w", h, err)
	}
	defer func() {
		if err != nil {
			if derr := c.Destroy(); derr != nil {
				r.log.Warn("destroy after failed create", "error", derr)
			}
		}
	}()
	// The record goes down before any cgroup exists; see cgroupRecord.
	if err := writeCgroupRecord(filepath.Join(r.root, h), cgroupPath); err != nil {
		return State{}, 0, fmt.Errorf("create container %q: %w", h, err)
	}
	crash.Point("gdn-run.create.state")
	// Make the cgroup in every hierarchy here rather than inside Run (which
	// then only joins it), so that the step has a boundary a crash test
	// can stop at: a cgroup and no process.
	m, err := manager.New(cfg.Cgroups)
	if err == nil {
		err = m.Apply(-1)
	}
	if err != nil {
		return State{}, 0, fmt.Errorf("cgroup of %q: %w", h, err)
	}
	crash.Point("gdn-run.create.cgroup")
	proc, err := newProcess(spec.Process)
	if err != nil {
		return State{}, 0, fmt.Errorf("bundle %q: %w: %w", bundle, err, errkind.InvalidSpec)
	}
	pio.apply(proc)
	proc.Init = true
	if rootMount != nil {
		mfd, err := openRootMount(rootMount, cfg.Rootfs)
		if err != nil {
			return State{}, 0, fmt.Errorf("bundle %q: %w", bundle, err)
		}
		defer mfd.Close()
		proc.ExtraFiles = []*os.File{mfd}
	}
	var sc *initSeccomp
	if profile != nil {
		var env string
		if sc, env, err = prepareInitSeccomp(profile, prog, &proc.ExtraFiles); err != nil {
			return State{}, 0, fmt.Errorf("container %q: %w", h, err)
		}
		proc.Env = append(slices.DeleteFunc(proc.Env, func(e string) bool { return strings.HasPrefix(e, initSeccompEnv+"=") }), env)
		defer sc.close()
	}
	if err := c.Run(proc); err != nil {
		return State{}, 0, fmt.Errorf("start container %q: %w", h, classifyStartError(err))
	}
	if sc != nil {
		if err := sc.waitLoaded(); err != nil {
			return State{}, 0, fmt.Errorf("start container %q: %w", h, err)
		}
		if err := recordProfile(filepath.Join(r.root, h), profile); err != nil {
			return State{}, 0, fmt.Errorf("container %q: record its seccomp profile: %w", h, err)
		}
	}
	crash.Point("gdn-run.create.started")
	if pid, err = proc.Pid(); err != nil {
		return State{}, 0, fmt.Errorf("start container %q: %w", h, err)
	}
	st, err := r.stateOf(c)
	if err != nil {
		return State{}, 0, err
	}
	r.log.Info("created", "pid", pid, "bundle", bundle)
	return st, pid, nil
}

// readBundle reads and checks bundle/config.json. The returned bundle path
// is absolute and clean.
func readBundle(bundle string) (*specs.Spec, string, error) {
	if bundle == "" {
		return nil, "", fmt.Errorf("no bundle given: %w", errkind.InvalidSpec)
	}
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return nil, "", fmt.Errorf("bundle %q: %w: %w", bundle, err, errkind.InvalidSpec)
	}
	// libcontainer records the bundle from the kernel's view of the
	// working directory, with symlinks resolved (/var/run is /run); use
	// that form everywhere so that outputs agree.
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	}
	data, err := os.ReadFile(filepath.Join(abs, "config.json"))
	if err != nil {
		return nil, "", fmt.Errorf("bundle %q: %w: %w", abs, err, errkind.InvalidSpec)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, "", fmt.Errorf("bundle %q: config.json: %w: %w", abs, err, errkind.InvalidSpec)
	}
	if spec.Process == nil || len(spec.Process.Args) == 0 {
		return nil, "", fmt.Errorf("bundle %q: config.json has no process: %w", abs, errkind.InvalidSpec)
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return nil, "", fmt.Errorf("bundle %q: config.json has no root.path: %w", abs, errkind.InvalidSpec)
	}
	rootfs := spec.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(abs, rootfs)
	}
	if st, err := os.Stat(rootfs); err != nil || !st.IsDir() {
		return nil, "", fmt.Errorf("bundle %q: rootfs %q is not a directory: %w", abs, rootfs, errkind.InvalidSpec)
	}
	return &spec, abs, nil
}
