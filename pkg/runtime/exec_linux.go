package runtime

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
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
	// Dir is the working directory; the user's home if empty. It is
	// created, owned by the user, if missing.
	Dir string `json:"dir,omitempty"`
	// Rlimits sets soft = hard = value for each named limit ("nofile",
	// "RLIMIT_NOFILE" and "NOFILE" all name the same one).
	Rlimits map[string]uint64 `json:"rlimits,omitempty"`
	// TTY runs the process on a terminal of this size (0 means 80x24).
	TTY *WindowSize `json:"tty,omitempty"`
	// Pea, when set, runs the process as a pea (see PreparePea).
	Pea *PeaSpec `json:"pea,omitempty"`
}

// WindowSize is a terminal's size.
type WindowSize struct {
	Columns uint16 `json:"columns"`
	Rows    uint16 `json:"rows"`
}

// Default PATHs, as Guardian gives them when the process sets none.
const (
	rootPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	userPath = "/usr/local/bin:/usr/bin:/bin"
)

// Default terminal size, as Guardian's.
const (
	defaultColumns = 80
	defaultRows    = 24
)

// Prepared is a process ready to start in a container: the full OCI
// process, and the host ids its files (FIFOs) must belong to so that it can
// open them.
type Prepared struct {
	Process *specs.Process `json:"process"`
	HostUID int            `json:"host_uid"`
	HostGID int            `json:"host_gid"`
	// Bundle is the container's bundle directory, where process
	// directories live.
	Bundle string `json:"bundle"`
	// Pea is the pea's id, and Spec its whole runtime spec (its
	// config.json), for a pea; both empty otherwise.
	Pea  string      `json:"pea,omitempty"`
	Spec *specs.Spec `json:"spec,omitempty"`
}

// PrepareProcess turns spec into the process to run in container h: the
// bundle's process (capabilities, rlimits, no_new_privileges, env) with
// the user looked up in the container's /etc/passwd, Guardian's env rules,
// and the working directory created if missing. Errors:
// errkind.ContainerNotFound, errkind.ContainerNotRunning,
// errkind.InvalidSpec (no command, unknown user, bad directory or rlimit).
func (r *Runtime) PrepareProcess(h string, spec ExecSpec) (*Prepared, error) {
	if len(spec.Args) == 0 || spec.Args[0] == "" {
		return nil, fmt.Errorf("exec in %q: no command: %w", h, errkind.InvalidSpec)
	}
	if spec.Pea != nil {
		return nil, fmt.Errorf("exec in %q: a pea needs PreparePea: %w", h, errkind.InvalidSpec)
	}
	st, err := r.loadRunning(h)
	if err != nil {
		return nil, err
	}
	bundle := bundleOf(st.Config.Labels)
	base, err := bundleProcess(bundle)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot("/proc/" + strconv.Itoa(st.InitProcessPid) + "/root")
	if err != nil {
		return nil, fmt.Errorf("root of %q: %w", h, err)
	}
	defer root.Close()
	p, err := buildProcess(base, root, spec, st.Config)
	if err != nil {
		return nil, fmt.Errorf("exec in %q: %w", h, err)
	}
	if err := makeWorkDir(root, p.Process.Cwd, p.HostUID, p.HostGID); err != nil {
		return nil, fmt.Errorf("exec in %q: %w", h, err)
	}
	p.Bundle = bundle
	return p, nil
}

// buildProcess makes the process of spec from the bundle's base process,
// with the user looked up in root (the file system the process will see).
func buildProcess(base *specs.Process, root *os.Root, spec ExecSpec, cfg configs.Config) (*Prepared, error) {
	if len(spec.Args) == 0 || spec.Args[0] == "" {
		return nil, fmt.Errorf("no command: %w", errkind.InvalidSpec)
	}
	u, err := lookupUser(root, spec.User)
	if err != nil {
		return nil, err
	}
	p := *base
	p.Args = spec.Args
	p.Env = processEnv(base.Env, spec.Env, spec.User, u.Uid)
	p.User = specs.User{UID: uint32(u.Uid), GID: uint32(u.Gid)}
	if u.Uid != 0 || u.Gid != 0 {
		// Guardian's rule: anyone but root:root holds no more than the
		// unprivileged set plus SYS_ADMIN, even in a privileged container.
		// (Guardian tests the gid alone; a non-root uid is cut down too.)
		p.Capabilities = bundle.ForNonRoot(base.Capabilities)
	}
	for _, g := range u.Sgids {
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	if p.Rlimits, err = withRlimits(base.Rlimits, spec.Rlimits); err != nil {
		return nil, err
	}
	p.Terminal, p.ConsoleSize = false, nil
	if spec.TTY != nil {
		p.Terminal = true
		p.ConsoleSize = &specs.Box{Width: uint(orDefault(spec.TTY.Columns, defaultColumns)), Height: uint(orDefault(spec.TTY.Rows, defaultRows))}
	}
	hostUID, err := cfg.HostUID(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("uid %d: %w: %w", u.Uid, err, errkind.InvalidSpec)
	}
	hostGID, err := cfg.HostGID(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("gid %d: %w: %w", u.Gid, err, errkind.InvalidSpec)
	}
	p.Cwd = spec.Dir
	if p.Cwd == "" {
		p.Cwd = u.Home
	}
	if !filepath.IsAbs(p.Cwd) {
		return nil, fmt.Errorf("working directory %q is not absolute: %w", p.Cwd, errkind.InvalidSpec)
	}
	return &Prepared{Process: &p, HostUID: hostUID, HostGID: hostGID}, nil
}

func orDefault(v, def uint16) uint16 {
	if v == 0 {
		return def
	}
	return v
}

// makeWorkDir creates dir inside the container's root if missing, each new
// directory owned by the process's host uid/gid (Guardian's behaviour).
// os.Root confines every step to the container: a symlink cannot lead the
// creation or the chown onto the host.
func makeWorkDir(root *os.Root, dir string, uid, gid int) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("working directory %q is not absolute: %w", dir, errkind.InvalidSpec)
	}
	rel := strings.TrimPrefix(filepath.Clean(dir), "/")
	if rel == "" {
		return nil
	}
	path := ""
	for _, part := range strings.Split(rel, "/") {
		path = filepath.Join(path, part)
		st, err := root.Stat(path)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("working directory %q: %q is not a directory: %w", dir, "/"+path, errkind.InvalidSpec)
			}
			continue
		}
		if !os.IsNotExist(err) {
			return fmt.Errorf("working directory %q: %w: %w", dir, err, errkind.InvalidSpec)
		}
		if err := root.Mkdir(path, 0o755); err != nil && !os.IsExist(err) {
			return fmt.Errorf("create working directory %q: %w", dir, err)
		}
		if err := root.Lchown(path, uid, gid); err != nil {
			return fmt.Errorf("chown working directory %q: %w", dir, err)
		}
	}
	return nil
}

// withRlimits overrides base's rlimits with the named ones (soft = hard).
// Two names for one limit ("nofile" and "RLIMIT_NOFILE") are
// errkind.InvalidSpec: which value wins would be a guess. New limits are
// appended in name order, so the result does not depend on map order.
func withRlimits(base []specs.POSIXRlimit, set map[string]uint64) ([]specs.POSIXRlimit, error) {
	out := append([]specs.POSIXRlimit(nil), base...)
	byType := map[string]uint64{}
	for name, v := range set {
		typ := strings.ToUpper(name)
		if !strings.HasPrefix(typ, "RLIMIT_") {
			typ = "RLIMIT_" + typ
		}
		if _, ok := rlimitTypes[typ]; !ok {
			return nil, fmt.Errorf("unknown rlimit %q: %w", name, errkind.InvalidSpec)
		}
		if _, dup := byType[typ]; dup {
			return nil, fmt.Errorf("rlimit %s is given twice: %w", typ, errkind.InvalidSpec)
		}
		byType[typ] = v
	}
	for _, typ := range slices.Sorted(maps.Keys(byType)) {
		v := byType[typ]
		i := slices.IndexFunc(out, func(r specs.POSIXRlimit) bool { return r.Type == typ })
		if i >= 0 {
			out[i] = specs.POSIXRlimit{Type: typ, Soft: v, Hard: v}
		} else {
			out = append(out, specs.POSIXRlimit{Type: typ, Soft: v, Hard: v})
		}
	}
	return out, nil
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
