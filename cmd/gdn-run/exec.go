package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gdn-dev/gdn/pkg/attach"
	"github.com/gdn-dev/gdn/pkg/bytesize"
	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/translate"
	"github.com/gdn-dev/gdn/pkg/process"
	"github.com/gdn-dev/gdn/pkg/runtime"
	"github.com/spf13/cobra"
)

type execOutput struct {
	Handle    string `json:"handle"`
	ProcessID string `json:"process_id"`
	Pid       int    `json:"pid"`
	Dir       string `json:"dir"`
}

type execFlags struct {
	id, user, dir string
	env, rlimits  []string
	tty, attach   bool
	holdStdin     bool
	rows, columns uint16
	dadooBin      string
	// Pea only.
	image, memoryLimit string
	binds              []string
	cpuShares          uint64
}

func execCmd() *cobra.Command {
	var f execFlags
	cmd := &cobra.Command{
		Use:   "exec HANDLE [flags] [-- PATH ARGS...]",
		Short: "Run a process in a container under its own dadoo; --attach to stream it and exit with its status",
		Long: "Without PATH, a Garden ProcessSpec JSON is read from stdin. Detached (the default), the\n" +
			"process's stdin is at EOF and exec prints {handle,process_id,pid,dir}; attach later with\n" +
			"`gdn-run attach`. With --attach, this command's stdio is the process's.",
		Example: "  gdn-run exec c1 --attach -- /bin/echo hello\n" +
			"  gdn-run exec c1 --id web --user vcap --dir /home/vcap -- /bin/sh -c 'sleep 2; echo done'\n" +
			"  echo '{\"path\":\"/bin/ls\",\"args\":[\"-l\"]}' | gdn-run exec c1 --attach",
		Args:              cli.HandleArgs(1, cli.ManyArgs),
		ValidArgsFunction: cli.Complete(runHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.dadooBin, _ = cmd.Flags().GetString("dadoo-bin")
			spec, err := f.spec(cmd, args[1:])
			if err != nil {
				return err
			}
			rt, err := newRuntime(cmd, args[0])
			if err != nil {
				return err
			}
			started, err := process.Exec(cmd.Context(), rt, f.processConfig(cmd), args[0], f.id, spec)
			if err != nil {
				return err
			}
			if !f.attach {
				defer started.Stdin.Close()
				out := execOutput{args[0], started.ID, started.Pid, string(started.Dir)}
				err := cli.Print(cmd, out, func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "started process %s (pid %d) in %s\n", out.ProcessID, out.Pid, out.Handle)
					return err
				})
				if err == nil && f.holdStdin {
					// The caller attaches to the printed dir, then closes our
					// stdin: only then may the process's stdin lose its writer.
					_, _ = io.Copy(io.Discard, cmd.InOrStdin())
				}
				return err
			}
			status, err := attach.Run(cmd.Context(), started.Dir, attach.Options{
				Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, TTY: spec.TTY != nil,
				Attached: func() { started.Stdin.Close() },
			})
			return exitWith(status, err)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.id, "id", "", "process id (default: a random UUID)")
	fl.BoolVarP(&f.attach, "attach", "a", false, "stream stdio and exit with the process's status")
	fl.BoolVarP(&f.tty, "tty", "t", false, "run the process on a terminal")
	fl.BoolVar(&f.holdStdin, "hold-stdin", false, "detached: keep the process's stdin open until this command's stdin ends (after the ProcessSpec), so a caller can attach first")
	fl.Uint16Var(&f.rows, "rows", 0, "terminal rows (default 24)")
	fl.Uint16Var(&f.columns, "columns", 0, "terminal columns (default 80)")
	fl.StringVarP(&f.user, "user", "u", "", "user name or uid[:gid] in the container (default root)")
	fl.StringVarP(&f.dir, "dir", "d", "", "working directory, created if missing (default: the user's home)")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "environment variable K=V (repeatable)")
	fl.StringArrayVar(&f.rlimits, "rlimit", nil, "rlimit NAME=N, soft = hard (repeatable), e.g. nofile=1024")
	fl.StringVar(&f.image, "image", "", "run as a pea with this rootfs directory (own mount namespace and cgroup)")
	fl.StringArrayVar(&f.binds, "bind-mount", nil, "pea bind mount SRC:DST[:ro|rw] (repeatable; needs --image)")
	fl.StringVar(&f.memoryLimit, "memory-limit", "", "pea only: its own memory limit (e.g. 64M), outside the container's cgroup")
	fl.Uint64Var(&f.cpuShares, "cpu-shares", 0, "pea only: its own cpu shares, outside the container's cgroup")
	return cmd
}

// spec builds the process from flags, or from a Garden ProcessSpec on
// stdin when no command is given.
func (f *execFlags) spec(cmd *cobra.Command, argv []string) (runtime.ExecSpec, error) {
	if len(argv) == 0 {
		var ps garden.ProcessSpec
		ok, err := cli.DecodeStdin(cmd, &ps)
		if err != nil {
			return runtime.ExecSpec{}, err
		}
		if !ok {
			return runtime.ExecSpec{}, fmt.Errorf("no command: give -- PATH ARGS or a ProcessSpec on stdin: %w", errkind.Usage)
		}
		if f.id == "" {
			f.id = ps.ID
		}
		return translate.ExecSpec(ps)
	}
	spec := runtime.ExecSpec{Args: argv, Env: f.env, User: f.user, Dir: f.dir}
	if f.tty {
		spec.TTY = &runtime.WindowSize{Columns: f.columns, Rows: f.rows}
	}
	if err := f.pea(&spec); err != nil {
		return runtime.ExecSpec{}, err
	}
	for _, rl := range f.rlimits {
		name, value, ok := strings.Cut(rl, "=")
		n, err := strconv.ParseUint(value, 10, 64)
		if !ok || err != nil {
			return runtime.ExecSpec{}, fmt.Errorf("--rlimit %q: want NAME=N: %w", rl, errkind.Usage)
		}
		if spec.Rlimits == nil {
			spec.Rlimits = map[string]uint64{}
		}
		spec.Rlimits[name] = n
	}
	return spec, nil
}

// processConfig names the binaries: dadoo beside gdn-run unless
// --dadoo-bin says otherwise, and this very gdn-run as dadoo's starter.
func (f *execFlags) processConfig(cmd *cobra.Command) process.Config {
	root, _ := cmd.Flags().GetString("runtime-root")
	cfg := process.Config{DadooPath: f.dadooBin, StarterPath: besideSelf("gdn-run"), RuntimeRoot: root}
	if cfg.DadooPath == "" {
		cfg.DadooPath = besideSelf("dadoo")
	}
	if self, err := os.Executable(); err == nil {
		cfg.StarterPath = self
	}
	return cfg
}

// exitWith relays a process's exit status as this command's.
func exitWith(status int, err error) error {
	if err != nil {
		return err
	}
	if status != 0 {
		return &cli.ExitStatusError{Status: status}
	}
	return nil
}

// pea fills spec.Pea from --image and the pea-only flags.
func (f *execFlags) pea(spec *runtime.ExecSpec) error {
	if f.image == "" {
		if len(f.binds) > 0 || f.memoryLimit != "" || f.cpuShares > 0 {
			return fmt.Errorf("--bind-mount, --memory-limit and --cpu-shares need --image: %w", errkind.Usage)
		}
		return nil
	}
	ps := garden.ProcessSpec{Path: "/", Image: garden.ImageRef{URI: f.image}}
	for _, b := range f.binds {
		bm, err := garden.ParseBindMount(b)
		if err != nil {
			return err
		}
		ps.BindMounts = append(ps.BindMounts, bm)
	}
	if f.memoryLimit != "" || f.cpuShares > 0 {
		ps.OverrideContainerLimits = &garden.ProcessLimits{CPU: garden.CPULimits{LimitInShares: f.cpuShares}}
		if f.memoryLimit != "" {
			n, err := bytesize.Parse(f.memoryLimit)
			if err != nil {
				return err
			}
			ps.OverrideContainerLimits.Memory.LimitInBytes = n
		}
	}
	pea, err := translate.PeaSpec(ps)
	if err != nil {
		return err
	}
	spec.Pea = pea
	return nil
}
