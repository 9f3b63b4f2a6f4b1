package leakcheck

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// netState is the part of gdn-net's container state (pkg/network.State)
// that tells what a living container holds.
type netState struct {
	Subnet      netip.Prefix `json:"subnet"`
	IP          netip.Addr   `json:"ip"`
	Bridge      string       `json:"bridge"`
	HostIf      string       `json:"host_interface"`
	Chain       string       `json:"chain"`
	Ifb         string       `json:"ifb_interface"`
	MappedPorts []struct {
		HostPort uint32 `json:"HostPort"`
	} `json:"mapped_ports"`
}

// check is one run of Check: the instance, what its excepted handles
// own, and the leaks found so far.
type check struct {
	Instance
	// keep holds the excepted handles and their peas' ids.
	keep map[string]bool
	// keepVolumes holds the excepted handles and their peas' volumes.
	keepVolumes map[string]bool
	// live holds the excepted handles' network states.
	live map[string]*netState
	// initBin is InitBin's stat, nil when unset or unreadable.
	initBin os.FileInfo
	leaks   []Leak
}

// propPeaVolumes is gdn-server's property listing a container's pea
// volumes (pkg/gardener.PropPeaVolumes).
const propPeaVolumes = "gdn.pea-volumes"

func newCheck(i Instance) *check {
	for _, p := range []*string{&i.Depot, &i.Store, &i.RuntimeRoot, &i.NetState, &i.CgroupParent} {
		if *p != "" {
			*p = filepath.Clean(*p)
		}
	}
	c := &check{Instance: i, keep: map[string]bool{}, keepVolumes: map[string]bool{}, live: map[string]*netState{}}
	if i.InitBin != "" {
		c.initBin, _ = os.Stat(i.InitBin)
	}
	for h := range i.except {
		c.keep[h], c.keepVolumes[h] = true, true
		if i.Depot != "" {
			var props map[string]string
			if readJSON(filepath.Join(i.Depot, h, "properties.json"), &props) == nil {
				for _, v := range strings.Split(props[propPeaVolumes], ",") {
					if v != "" {
						c.keepVolumes[v] = true
					}
				}
			}
		}
		if i.NetState != "" {
			var st netState
			if readJSON(filepath.Join(i.NetState, "containers", h+".json"), &st) == nil {
				c.live[h] = &st
			}
		}
	}
	// A pea is a runtime container of its own whose bundle is a process
	// dir of its container's depot entry: it lives as long as that.
	if i.RuntimeRoot != "" && i.Depot != "" {
		for _, name := range entries(i.RuntimeRoot) {
			if h := c.bundleHandle(name); h != "" && i.except[h] {
				c.keep[name] = true
			}
		}
	}
	return c
}

// bundleHandle returns the depot handle whose directory holds the bundle
// of runtime container name, or "".
func (c *check) bundleHandle(name string) string {
	var st struct {
		Config struct {
			Labels []string `json:"labels"`
		} `json:"config"`
	}
	if readJSON(filepath.Join(c.RuntimeRoot, name, "state.json"), &st) != nil {
		return ""
	}
	for _, l := range st.Config.Labels {
		if b, ok := strings.CutPrefix(l, "bundle="); ok {
			return c.depotHandle(b)
		}
	}
	return ""
}

// depotHandle returns the handle whose depot entry holds path, or "".
func (c *check) depotHandle(path string) string {
	rel, ok := under(c.Depot, path)
	if !ok || rel == "" {
		return ""
	}
	return strings.SplitN(rel, "/", 2)[0]
}

func (c *check) add(kind, h, what string) {
	c.leaks = append(c.leaks, Leak{Kind: kind, Handle: h, What: what})
}

// depot reports bundle dirs and trash entries.
func (c *check) depot() error {
	if c.Depot == "" {
		return nil
	}
	names, err := readDir(c.Depot)
	for _, n := range names {
		if !strings.HasPrefix(n, ".") && !c.except[n] {
			c.add(KindDepot, n, filepath.Join(c.Depot, n))
		}
	}
	trash, terr := readDir(filepath.Join(c.Depot, ".trash"))
	for _, n := range trash {
		// Trash entries are "<handle>~<random>" (pkg/depot).
		h, _, _ := strings.Cut(n, "~")
		c.add(KindTrash, h, filepath.Join(c.Depot, ".trash", n))
	}
	return errors.Join(err, terr)
}

// runtime reports runtime state dirs.
func (c *check) runtime() error {
	if c.RuntimeRoot == "" {
		return nil
	}
	names, err := readDir(c.RuntimeRoot)
	for _, n := range names {
		if strings.HasPrefix(n, ".") || c.keep[n] {
			continue
		}
		h := n
		if bh := c.bundleHandle(n); bh != "" {
			h = bh // a pea: name its container
		}
		c.add(KindRuntime, h, filepath.Join(c.RuntimeRoot, n))
	}
	return err
}

// drainWait bounds the wait for detached downs to finish.
const drainWait = 10 * time.Second

// netState reports container network states, and draining ones (a
// detached down's devices not yet deleted) that outlive drainWait: a
// detached down returns before its devices are gone, so a check right
// after a destroy waits for them first.
func (c *check) netState() error {
	if c.NetState == "" {
		return nil
	}
	dir := filepath.Join(c.NetState, "draining")
	deadline := time.Now().Add(drainWait)
	for (len(entries(dir)) > 0 || netBusy(c.NetState)) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, n := range entries(dir) {
		var d struct {
			Handle string `json:"handle"`
		}
		_ = readJSON(filepath.Join(dir, n), &d)
		if !c.except[d.Handle] {
			c.add(KindNetState, d.Handle, filepath.Join(dir, n)+" (devices of a detached down)")
		}
	}
	names, err := readDir(filepath.Join(c.NetState, "containers"))
	for _, n := range names {
		if h, ok := strings.CutSuffix(n, ".json"); ok && !c.except[h] {
			c.add(KindNetState, h, filepath.Join(c.NetState, "containers", n))
		}
	}
	return err
}

// netBusy tells whether a gdn-net up, down or a detached down's child
// holds the state directory's busy lock (shared): a check then waits, as
// the child gives the subnet back only after its draining state is gone.
// The lock file is opened read-only and never made.
func netBusy(stateDir string) bool {
	f, err := os.Open(filepath.Join(stateDir, "busy.lock"))
	if err != nil {
		return false
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil
}

// readDir returns the names in dir; a missing dir holds none.
func readDir(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	names := make([]string, 0, len(es))
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names, err
}

func entries(dir string) []string {
	names, _ := readDir(dir)
	return names
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// under returns path relative to dir ("" for dir itself) and whether path
// is dir or lies below it. Both must be clean.
func under(dir, path string) (string, bool) {
	if path == dir {
		return "", true
	}
	prefix := dir + "/"
	if dir == "/" {
		prefix = "/"
	}
	if rest, ok := strings.CutPrefix(path, prefix); ok {
		return rest, true
	}
	return "", false
}
