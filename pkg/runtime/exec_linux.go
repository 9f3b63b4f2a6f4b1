package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/moby/sys/user"
	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecSpec is a process to run in a running container.
type ExecSpec struct {
	// Args is the executable (looked up in PATH) and its arguments.
	Args []string `json:"args"`
	// Env is appended to the container's environment.
	Env []string `json:"env,omitempty"`
	// User is a name from the container's /etc/passwd, or uid[:gid];
	// empty means root.
	User string `json:"user,omitempty"`
	// Dir is the working directory; the user's home if empty.
	Dir string `json:"dir,omitempty"`
}

// Default PATHs, as Guardian gives them when the process sets none.
const (
	rootPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	userPath = "/usr/local/bin:/usr/bin:/bin"
)

// Exec runs spec in container h with the given stdio, waits for it and
// returns its exit status (128+n when killed by signal n). SIGINT, SIGTERM,
// SIGHUP and SIGQUIT sent to the caller are forwarded to the process.
// Errors: errkind.ContainerNotFound, errkind.ContainerNotRunning,
// errkind.ExecutableNotFound, errkind.InvalidSpec.
func (r *Runtime) Exec(ctx context.Context, h string, spec ExecSpec, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if len(spec.Args) == 0 {
		return 0, fmt.Errorf("exec in %q: no command: %w", h, errkind.InvalidSpec)
	}
	c, err := r.load(h)
	if err != nil {
		return 0, err
	}
	if status, err := c.Status(); err != nil || status == libcontainer.Stopped {
		return 0, fmt.Errorf("exec in %q: %w", h, notRunning(libcontainer.ErrNotRunning))
	}
	proc, err := r.execProcess(c, spec)
	if err != nil {
		return 0, err
	}
	proc.Stdin, proc.Stdout, proc.Stderr = stdin, stdout, stderr
	if err := c.Run(proc); err != nil {
		return 0, fmt.Errorf("exec in %q: %w", h, classifyStartError(notRunning(err)))
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			_ = proc.Signal(s)
		}
	}()
	ps, err := proc.Wait()
	if ps == nil {
		return 0, fmt.Errorf("wait in %q: %w", h, err)
	}
	return exitStatus(ps), nil
}

// exitStatus is the shell's convention: the status, or 128+signal.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// execProcess builds the libcontainer process for spec from the bundle's
// process (capabilities, rlimits, no_new_privileges, env).
func (r *Runtime) execProcess(c *libcontainer.Container, spec ExecSpec) (*libcontainer.Process, error) {
	st, err := c.State()
	if err != nil {
		return nil, fmt.Errorf("state of %q: %w", c.ID(), err)
	}
	base, err := bundleProcess(bundleOf(st.Config.Labels))
	if err != nil {
		return nil, err
	}
	u, err := lookupUser(st.InitProcessPid, spec.User)
	if err != nil {
		return nil, fmt.Errorf("exec in %q: %w", c.ID(), err)
	}
	p := *base
	p.Args = spec.Args
	p.Env = processEnv(base.Env, spec.Env, spec.User, u.Uid)
	p.User = specs.User{UID: uint32(u.Uid), GID: uint32(u.Gid)}
	for _, g := range u.Sgids {
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	p.Cwd = spec.Dir
	if p.Cwd == "" {
		p.Cwd = u.Home
	}
	if !filepath.IsAbs(p.Cwd) {
		return nil, fmt.Errorf("exec in %q: working directory %q is not absolute: %w", c.ID(), p.Cwd, errkind.InvalidSpec)
	}
	return newProcess(&p)
}

// bundleProcess reads the process section of a bundle's config.json.
func bundleProcess(bundle string) (*specs.Process, error) {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("bundle of container: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil || spec.Process == nil {
		return nil, fmt.Errorf("bundle %q: bad config.json: %w", bundle, errkind.InvalidSpec)
	}
	return spec.Process, nil
}

// processEnv is Guardian's rule: bundle env, then the process's own, then
// PATH and USER if still unset.
func processEnv(bundleEnv, env []string, userName string, uid int) []string {
	out := append(append([]string{}, bundleEnv...), env...)
	has := func(k string) bool {
		for _, e := range out {
			if strings.HasPrefix(e, k+"=") {
				return true
			}
		}
		return false
	}
	if !has("PATH") {
		if uid == 0 {
			out = append(out, "PATH="+rootPath)
		} else {
			out = append(out, "PATH="+userPath)
		}
	}
	if !has("USER") {
		if userName == "" {
			userName = "root"
		}
		out = append(out, "USER="+userName)
	}
	return out
}

// lookupUser resolves a user name or uid[:gid] against the container's
// /etc/passwd and /etc/group. The files are opened through os.Root on the
// init's root directory, so a symlink in the container cannot make us read
// a host file.
func lookupUser(initPid int, spec string) (*user.ExecUser, error) {
	defaults := &user.ExecUser{Uid: 0, Gid: 0, Home: "/"}
	root, err := os.OpenRoot("/proc/" + strconv.Itoa(initPid) + "/root")
	if err != nil {
		return nil, fmt.Errorf("container root: %w", err)
	}
	defer root.Close()
	open := func(name string) io.Reader {
		f, err := root.Open(name)
		if err != nil {
			return nil
		}
		return f
	}
	passwd, group := open("etc/passwd"), open("etc/group")
	for _, rd := range []io.Reader{passwd, group} {
		if f, ok := rd.(*os.File); ok {
			defer f.Close()
		}
	}
	if spec == "" {
		spec = "0:0"
	}
	u, err := user.GetExecUser(spec, defaults, passwd, group)
	if err != nil {
		return nil, fmt.Errorf("user %q: %w: %w", spec, err, errkind.InvalidSpec)
	}
	return u, nil
}
