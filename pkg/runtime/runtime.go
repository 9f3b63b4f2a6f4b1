package runtime

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
)

// DefaultRoot is runc's own default state root, so that runc sees gdn
// containers without flags.
const DefaultRoot = "/run/runc"

// DefaultCgroupParent is where gdn-depot puts container cgroups for the
// default instance; an instance tagged t uses tag.Scoped of it. Create
// refuses a bundle whose cgroup is not below the runtime's parent, and
// Delete removes nothing outside it.
const DefaultCgroupParent = "/garden"

// CrashPoints are gdn-run's crash.Point steps, in the order create and
// delete reach them ("orphan-cgroup" only in a delete of a half-made
// container), for crash tests to iterate.
var CrashPoints = []string{
	"gdn-run.create.state", "gdn-run.create.cgroup", "gdn-run.create.started",
	"gdn-run.delete.killed", "gdn-run.delete.peas", "gdn-run.delete.processes",
	"gdn-run.delete.cgroup", "gdn-run.delete.orphan-cgroup",
}

// stoppedMarker is gdn's own file in a container's state directory; its
// presence means Stop ran (Garden reports the container as "stopped").
const stoppedMarker = "gdn-stopped"

// Config configures a Runtime.
type Config struct {
	// Root is the state root; DefaultRoot if empty.
	Root string
	// CgroupParent is the cgroup parent of the containers' cgroups;
	// DefaultCgroupParent if empty.
	CgroupParent string
	// Logger receives structured logs; none if nil.
	Logger *slog.Logger
	// LibcontainerLog receives libcontainer's own (logrus) messages;
	// discarded if nil.
	LibcontainerLog io.Writer
}

// Runtime creates and manages containers under one state root.
type Runtime struct {
	root         string
	cgroupParent string
	log          *slog.Logger
}

// New returns a Runtime for cfg. The state root is made by the first
// Create (libcontainer makes it): a delete or a state query with no root
// finds nothing, and does not leave an empty root behind (a pea's monitor
// deletes its pea when the pea ends, perhaps long after everything else
// of its server went).
func New(cfg Config) (*Runtime, error) {
	r := &Runtime{root: cfg.Root, cgroupParent: cfg.CgroupParent, log: cfg.Logger}
	if r.root == "" {
		r.root = DefaultRoot
	}
	if r.cgroupParent == "" {
		r.cgroupParent = DefaultCgroupParent
	}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.LibcontainerLog != nil {
		logrus.SetOutput(cfg.LibcontainerLog)
		logrus.SetFormatter(&logrus.JSONFormatter{})
	} else {
		logrus.SetOutput(io.Discard)
	}
	return r, nil
}

// State describes a container as the runtime sees it.
type State struct {
	Handle string `json:"handle"`
	Bundle string `json:"bundle"`
	// Pid is the host pid of the container's init (0 once it is gone).
	Pid int `json:"pid"`
	// Status is libcontainer's: created, running, paused or stopped.
	// "stopped" here means the init is gone, not Garden's Stop.
	Status string `json:"status"`
	// Stopped is Garden's stop: Stop ran, the init may still be alive.
	Stopped bool      `json:"stopped"`
	Created time.Time `json:"created"`
	// OOMKills counts the processes the kernel killed for the memory
	// limit, from the cgroup's own counter: it needs no watcher, so it
	// is right after any restart (Garden's Info reports one "Out of
	// memory" event per kill).
	OOMKills uint64 `json:"oom_kills"`
}

// load opens a container's libcontainer state. It returns an error
// wrapping errkind.ContainerNotFound if there is none.
func (r *Runtime) load(h string) (*libcontainer.Container, error) {
	if err := handle.Validate(h); err != nil {
		return nil, err
	}
	c, err := libcontainer.Load(r.root, h)
	if errors.Is(err, libcontainer.ErrNotExist) {
		return nil, fmt.Errorf("container %q: %w", h, errkind.ContainerNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load container %q: %w", h, err)
	}
	return c, nil
}

// loadRunning loads container h and its libcontainer state, and checks
// that its init runs. Errors: errkind.ContainerNotFound,
// errkind.ContainerNotRunning.
func (r *Runtime) loadRunning(h string) (*libcontainer.State, error) {
	c, st, err := r.loadState(h)
	if err != nil {
		return nil, err
	}
	if status, err := c.Status(); err != nil || status == libcontainer.Stopped {
		return nil, fmt.Errorf("container %q: %w", h, notRunning(libcontainer.ErrNotRunning))
	}
	return st, nil
}

// loadState is load with the container's libcontainer state.
func (r *Runtime) loadState(h string) (*libcontainer.Container, *libcontainer.State, error) {
	c, err := r.load(h)
	if err != nil {
		return nil, nil, err
	}
	st, err := c.State()
	if err != nil {
		return nil, nil, fmt.Errorf("state of %q: %w", h, err)
	}
	return c, st, nil
}

// State returns the state of container h, or an error wrapping
// errkind.ContainerNotFound.
func (r *Runtime) State(h string) (State, error) {
	c, err := r.load(h)
	if err != nil {
		return State{}, err
	}
	return r.stateOf(c)
}

func (r *Runtime) stateOf(c *libcontainer.Container) (State, error) {
	st, err := c.State()
	if err != nil {
		return State{}, fmt.Errorf("state of %q: %w", c.ID(), err)
	}
	status, err := c.Status()
	if err != nil {
		return State{}, fmt.Errorf("status of %q: %w", c.ID(), err)
	}
	s := State{
		Handle:  c.ID(),
		Bundle:  bundleOf(st.Config.Labels),
		Status:  status.String(),
		Created: st.Created,
	}
	if status != libcontainer.Stopped {
		s.Pid = st.InitProcessPid
	}
	_, err = os.Stat(filepath.Join(r.root, c.ID(), stoppedMarker))
	s.Stopped = err == nil
	s.OOMKills = oomKills(st.CgroupPaths)
	return s, nil
}

// oomKills reads the oom_kill counter of a container's memory cgroup:
// memory.oom_control on cgroup v1, memory.events on v2. 0 if unreadable.
func oomKills(paths map[string]string) uint64 {
	file := filepath.Join(paths["memory"], "memory.oom_control")
	if paths["memory"] == "" {
		file = filepath.Join(paths[""], "memory.events")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// bundleOf finds the bundle path in libcontainer's labels, where runc also
// looks for it.
func bundleOf(labels []string) string {
	for _, l := range labels {
		if b, ok := strings.CutPrefix(l, "bundle="); ok {
			return b
		}
	}
	return ""
}

// List returns the state of every container in the root, sorted by handle.
// Directories that are not loadable containers (a half-created one, another
// tool's) are skipped.
func (r *Runtime) List() ([]State, error) {
	entries, err := os.ReadDir(r.root)
	if errors.Is(err, fs.ErrNotExist) {
		return []State{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", r.root, err)
	}
	states := []State{}
	for _, e := range entries {
		if !e.IsDir() || handle.Validate(e.Name()) != nil {
			continue
		}
		c, err := libcontainer.Load(r.root, e.Name())
		if err != nil {
			continue
		}
		s, err := r.stateOf(c)
		if err != nil {
			continue
		}
		states = append(states, s)
	}
	return states, nil
}

// Processes returns the host pids of every process in container h's
// cgroup, its init included.
func (r *Runtime) Processes(h string) ([]int, error) {
	c, err := r.load(h)
	if err != nil {
		return nil, err
	}
	pids, err := c.Processes()
	if err != nil {
		return nil, fmt.Errorf("processes of %q: %w", h, err)
	}
	return pids, nil
}

// Root returns the runtime's state root.
func (r *Runtime) Root() string { return r.root }
