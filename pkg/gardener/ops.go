package gardener

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/depot"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/gdn-dev/gdn/pkg/procdir"
	"golang.org/x/sys/unix"
)

// List returns the handles whose properties match every pair of filter.
// As in Guardian, a filter without garden.state shows only finished
// containers — here those created by the server and those built by hand
// (no garden.state), not the server's creates and destroys in progress —
// and garden.state=all turns that off.
func (g *Gardener) List(ctx context.Context, filter garden.Properties) ([]string, error) {
	f := map[string]string{}
	for k, v := range filter {
		f[k] = v
	}
	switch f[PropState] {
	case "":
		all, err := g.allProperties(ctx, f)
		if err != nil {
			return nil, err
		}
		hs := []string{}
		for h, p := range all {
			if !inProgress(p) {
				hs = append(hs, h)
			}
		}
		slices.Sort(hs)
		return hs, nil
	case "all":
		delete(f, PropState)
	}
	return g.list(ctx, f)
}

func (g *Gardener) list(_ context.Context, filter map[string]string) ([]string, error) {
	return g.cfg.Props.List(filter)
}

// Properties returns all of h's properties.
func (g *Gardener) Properties(_ context.Context, h string) (garden.Properties, error) {
	props, err := g.cfg.Props.Properties(h)
	if err != nil {
		return nil, notFound(h, err)
	}
	if props == nil {
		props = garden.Properties{}
	}
	return props, nil
}

// Property returns one property; a missing key is Guardian's error.
func (g *Gardener) Property(_ context.Context, h, key string) (string, error) {
	if err := checkKeyArg(key); err != nil {
		return "", err
	}
	v, err := g.cfg.Props.GetProperty(h, key)
	if errors.Is(err, errkind.PropertyNotFound) {
		return "", fmt.Errorf("property does not exist: %s", key)
	}
	return v, notFound(h, err)
}

// SetProperty sets one property; the depot validates the pair
// (depot.ValidateProperty).
func (g *Gardener) SetProperty(_ context.Context, h, key, value string) error {
	return g.mergeProps(h, map[string]string{key: value})
}

// RemoveProperty removes one property; a missing key is no error.
func (g *Gardener) RemoveProperty(_ context.Context, h, key string) error {
	if err := checkKeyArg(key); err != nil {
		return err
	}
	return notFound(h, g.cfg.Props.RemoveProperty(h, key))
}

// mergeProps sets every pair of kv in one durable change, in process
// (Config.Props).
func (g *Gardener) mergeProps(h string, kv map[string]string) error {
	return notFound(h, g.cfg.Props.SetProperties(h, kv))
}

// checkKeyArg refuses, with a clear error, a key to read or remove that
// no set could have stored (a NUL byte, too long); any other key that is
// not set is simply not there.
func checkKeyArg(key string) error {
	if strings.IndexByte(key, 0) >= 0 || len(key) > depot.MaxKeyBytes {
		return depot.ValidatePropertyKey(key)
	}
	return nil
}

// toolJSON runs t and decodes its output into v.
func (g *Gardener) toolJSON(ctx context.Context, t Tool, h string, v any, args ...string) error {
	out, err := t.run(ctx, g.log.With("handle", h), call{args: args})
	if err != nil {
		return notFound(h, err)
	}
	return json.Unmarshal(out, v)
}

// runtimeState is what gdn-run state prints.
type runtimeState struct {
	Pid      int       `json:"pid"`
	Status   string    `json:"status"`
	Stopped  bool      `json:"stopped"`
	Created  time.Time `json:"created"`
	OOMKills uint64    `json:"oom_kills"`
}

// Info reports h as Guardian does: state, events, addresses, path,
// properties and mapped ports.
func (g *Gardener) Info(ctx context.Context, h string) (garden.ContainerInfo, error) {
	if err := g.Lookup(h); err != nil {
		return garden.ContainerInfo{}, err
	}
	var (
		props garden.Properties
		st    runtimeState
		wg    sync.WaitGroup
		perr  error
		serr  error
	)
	wg.Add(2)
	go func() { defer wg.Done(); props, perr = g.Properties(ctx, h) }()
	go func() { defer wg.Done(); serr = g.toolJSON(ctx, g.cfg.Run, h, &st, "state", h) }()
	wg.Wait()
	if err := errors.Join(perr, serr); err != nil {
		return garden.ContainerInfo{}, err
	}
	info := garden.ContainerInfo{
		State:         "active",
		HostIP:        props[PropHostIP],
		ContainerIP:   props[PropContainerIP],
		ExternalIP:    props[PropExternalIP],
		ContainerPath: g.bundle(h),
		Properties:    props,
		MappedPorts:   []garden.PortMapping{},
	}
	if st.Stopped {
		info.State = "stopped"
	}
	for range st.OOMKills {
		info.Events = append(info.Events, "Out of memory")
	}
	if mp := props[PropMappedPorts]; mp != "" {
		if err := json.Unmarshal([]byte(mp), &info.MappedPorts); err != nil {
			return garden.ContainerInfo{}, fmt.Errorf("property %s: %w", PropMappedPorts, err)
		}
	}
	return info, nil
}

// runtimeStats is what gdn-run stats prints.
type runtimeStats struct {
	AgeNs  int64 `json:"age_ns"`
	Memory struct {
		TotalUsageTowardLimit uint64 `json:"total_usage_toward_limit"`
		// Stat has cgroup memory.stat's keys, which are Garden's.
		Stat json.RawMessage `json:"stat"`
	} `json:"memory"`
	CPU struct {
		Usage  uint64 `json:"usage_ns"`
		User   uint64 `json:"user_ns"`
		System uint64 `json:"system_ns"`
	} `json:"cpu"`
	Pids struct {
		Current uint64 `json:"current"`
		Limit   uint64 `json:"limit"`
	} `json:"pids"`
}

// diskStats is what an image plugin's stats prints.
type diskStats struct {
	DiskUsage struct {
		Total     uint64 `json:"total_bytes_used"`
		Exclusive uint64 `json:"exclusive_bytes_used"`
	} `json:"disk_usage"`
}

// Metrics reports h's usage from gdn-run stats, the image plugin's stats
// and, if enabled, gdn-net stats, gathered in parallel. h may also be a
// pea's process id: see peaMetrics.
func (g *Gardener) Metrics(ctx context.Context, h string) (garden.Metrics, error) {
	if err := g.Lookup(h); err != nil {
		if owner, ok := g.peaOwner(ctx, h); ok {
			return g.peaMetrics(ctx, owner, h)
		}
		return garden.Metrics{}, err
	}
	var (
		rs   runtimeStats
		ds   diskStats
		ns   *garden.ContainerNetworkStat
		sum  depot.Summary
		wg   sync.WaitGroup
		errs [4]error
	)
	wg.Add(2)
	go func() { defer wg.Done(); errs[0] = g.toolJSON(ctx, g.cfg.Run, h, &rs, "stats", h) }()
	go func() {
		defer wg.Done()
		// One read of the bundle's summary gives the limits and the privilege, which
		// names the store that made the rootfs.
		if sum, errs[3] = g.show(ctx, h); errs[3] != nil {
			return
		}
		errs[1] = g.toolJSON(ctx, g.imageTool(sum.Privileged), h, &ds, "stats", h)
		// A privileged container made before the server had its
		// privileged store has its volume in the other one.
		var nf garden.ContainerNotFoundError
		if other, ok := g.otherImageTool(sum.Privileged); ok && errors.As(errs[1], &nf) {
			errs[1] = g.toolJSON(ctx, other, h, &ds, "stats", h)
		}
	}()
	if g.cfg.NetworkMetrics {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var st struct {
				RxBytes uint64 `json:"rx_bytes"`
				TxBytes uint64 `json:"tx_bytes"`
			}
			if errs[2] = g.toolJSON(ctx, g.cfg.Net, h, &st, "stats", h); errs[2] == nil {
				ns = &garden.ContainerNetworkStat{RxBytes: st.RxBytes, TxBytes: st.TxBytes}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return garden.Metrics{}, err
	}
	m, err := g.metrics(rs, ds, sum.Limits.CPUShares)
	m.NetworkStat = ns
	return m, err
}

// metrics makes Garden's metrics of a runtime container's stats, its disk
// stats and its cpu shares (0: the kernel's default).
func (g *Gardener) metrics(rs runtimeStats, ds diskStats, shares uint64) (garden.Metrics, error) {
	m := garden.Metrics{
		CPUStat:  garden.ContainerCPUStat{Usage: rs.CPU.Usage, User: rs.CPU.User, System: rs.CPU.System},
		DiskStat: garden.ContainerDiskStat{TotalBytesUsed: ds.DiskUsage.Total, ExclusiveBytesUsed: ds.DiskUsage.Exclusive},
		PidStat:  garden.ContainerPidStat{Current: rs.Pids.Current, Max: rs.Pids.Limit},
		Age:      time.Duration(rs.AgeNs),
	}
	if len(rs.Memory.Stat) > 0 {
		if err := json.Unmarshal(rs.Memory.Stat, &m.MemoryStat); err != nil {
			return garden.Metrics{}, fmt.Errorf("gdn-run stats: %w", err)
		}
	}
	m.MemoryStat.TotalUsageTowardLimit = rs.Memory.TotalUsageTowardLimit
	if shares == 0 {
		shares = 1024 // the kernel's default
	}
	m.CPUEntitlement = uint64(float64(shares) * g.cfg.CPUEntitlementPerShare / 100 * float64(m.Age))
	return m, nil
}

// peaOwner reports whether id is a live pea's runtime container, and the
// container it belongs to: its bundle is that container's process
// directory id (depot/OWNER/processes/id).
func (g *Gardener) peaOwner(ctx context.Context, id string) (string, bool) {
	if handle.Validate(id) != nil {
		return "", false
	}
	var st struct {
		Bundle string `json:"bundle"`
	}
	if err := g.toolJSON(ctx, g.cfg.Run, id, &st, "state", id); err != nil {
		return "", false
	}
	procs := filepath.Dir(st.Bundle)
	if filepath.Base(st.Bundle) != id || filepath.Base(procs) != "processes" {
		return "", false
	}
	owner := filepath.Base(filepath.Dir(procs))
	if g.Lookup(owner) != nil {
		return "", false
	}
	// The runtime resolves symlinks in bundle paths; the depot may be
	// named through one.
	want := g.processDir(owner, id)
	if resolved, err := filepath.EvalSymlinks(string(want)); err == nil {
		want = procdir.Dir(resolved)
	}
	return owner, st.Bundle == string(want)
}

// peaMetrics answers Metrics for pea id of container owner. As in the
// reference, where a pea is a runtime container of its own whose stats
// the runtime gives by its id, they are the pea's own cgroup's CPU,
// memory and pids, and its age; its disk usage is that of the volume the
// image plugin made for it (none for a pea given a rootfs directory);
// it has no network stats, having no interface of its own. Its CPU
// entitlement is from its own cpu shares if it has a limit of its own,
// else from its container's, which it shares.
func (g *Gardener) peaMetrics(ctx context.Context, owner, id string) (garden.Metrics, error) {
	var rs runtimeStats
	if err := g.toolJSON(ctx, g.cfg.Run, id, &rs, "stats", id); err != nil {
		return garden.Metrics{}, err
	}
	s, err := g.show(ctx, owner)
	if err != nil {
		return garden.Metrics{}, err
	}
	var ds diskStats
	vol := peaVolume(owner, id)
	if slices.Contains(strings.Split(s.Properties[PropPeaVolumes], ","), vol) {
		if err := g.toolJSON(ctx, g.imageTool(s.Privileged), id, &ds, "stats", vol); err != nil {
			return garden.Metrics{}, err
		}
	}
	shares := s.Limits.CPUShares
	if own := peaCPUShares(g.processDir(owner, id)); own > 0 {
		shares = own
	}
	return g.metrics(rs, ds, shares)
}

// peaCPUShares reads the cpu shares a pea's own limits gave it from its
// runtime spec (0 if none).
func peaCPUShares(d procdir.Dir) uint64 {
	data, err := os.ReadFile(d.File("config.json"))
	if err != nil {
		return 0
	}
	var spec struct {
		Linux struct {
			Resources struct {
				CPU struct {
					Shares uint64 `json:"shares"`
				} `json:"cpu"`
			} `json:"resources"`
		} `json:"linux"`
	}
	_ = json.Unmarshal(data, &spec)
	return spec.Linux.Resources.CPU.Shares
}

// show is the depot's summary of h: the one source of its privilege,
// limits and properties (the gardener reads no bundle itself).
func (g *Gardener) show(_ context.Context, h string) (depot.Summary, error) {
	s, err := g.cfg.Props.Show(h)
	return s, notFound(h, err)
}

// MemoryLimits reports h's memory limit from its bundle.
func (g *Gardener) MemoryLimits(ctx context.Context, h string) (garden.MemoryLimits, error) {
	s, err := g.show(ctx, h)
	return garden.MemoryLimits{LimitInBytes: uint64(max(s.Limits.MemoryBytes, 0))}, err
}

// CPULimits reports h's cpu shares from its bundle.
func (g *Gardener) CPULimits(ctx context.Context, h string) (garden.CPULimits, error) {
	s, err := g.show(ctx, h)
	return garden.CPULimits{LimitInShares: s.Limits.CPUShares}, err
}

// Stop stops every process of h but its init (gdn-run stop).
func (g *Gardener) Stop(ctx context.Context, h string, kill bool) error {
	if err := g.Lookup(h); err != nil {
		return err
	}
	args := []string{"stop", h}
	if kill {
		args = append(args, "--kill")
	}
	_, err := g.cfg.Run.run(ctx, g.log.With("handle", h), call{args: args})
	return notFound(h, err)
}

// StreamIn unpacks the tar stream r into dst in h, as user.
func (g *Gardener) StreamIn(ctx context.Context, h, user, dst string, r io.Reader) error {
	if err := g.Lookup(h); err != nil {
		return err
	}
	args := []string{"stream-in", h, "--destination", dst}
	if user != "" {
		args = append(args, "--user", user)
	}
	_, err := g.cfg.Run.run(ctx, g.log.With("handle", h), call{args: args, stdin: r})
	return notFound(h, err)
}

// StreamOut writes a tar stream of src in h, read as user, to w.
func (g *Gardener) StreamOut(ctx context.Context, h, user, src string, w io.Writer) error {
	if err := g.Lookup(h); err != nil {
		return err
	}
	args := []string{"stream-out", h, "--source", src}
	if user != "" {
		args = append(args, "--user", user)
	}
	_, err := g.cfg.Run.run(ctx, g.log.With("handle", h), call{args: args, stdout: w})
	return notFound(h, err)
}

// NetIn maps a host port to a container port through the network plugin
// and records the mapping in garden.network.mapped-ports.
func (g *Gardener) NetIn(ctx context.Context, h string, hostPort, containerPort uint32) (uint32, uint32, error) {
	// The property is read, extended and written back: one net-in at a
	// time, or two at once would each drop the other's mapping.
	g.netInMu.Lock()
	defer g.netInMu.Unlock()
	props, err := g.Properties(ctx, h)
	if err != nil {
		return 0, 0, err
	}
	in, _ := json.Marshal(map[string]any{
		"HostIP": props[PropExternalIP], "HostPort": hostPort,
		"ContainerIP": props[PropContainerIP], "ContainerPort": containerPort,
	})
	out, err := g.cfg.Net.run(ctx, g.log.With("handle", h), call{
		args: []string{"--action", "net-in", "--handle", h}, stdin: strings.NewReader(string(in)),
	})
	if err != nil {
		return 0, 0, notFound(h, err)
	}
	var res garden.NetInResponse
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, 0, fmt.Errorf("network plugin net-in printed %q: %w", out, err)
	}
	crash.Point("gdn-server.netin.network")
	var mapped []garden.PortMapping
	if mp := props[PropMappedPorts]; mp != "" {
		_ = json.Unmarshal([]byte(mp), &mapped)
	}
	mapped = append(mapped, garden.PortMapping(res))
	b, _ := json.Marshal(mapped)
	if err := g.SetProperty(ctx, h, PropMappedPorts, string(b)); err != nil {
		return 0, 0, err
	}
	return res.HostPort, res.ContainerPort, nil
}

// NetOut allows traffic out of h by rules (the bulk form when more than
// one), in one call of the network plugin.
func (g *Gardener) NetOut(ctx context.Context, h string, rules []garden.NetOutRule) error {
	ip, err := g.Property(ctx, h, PropContainerIP)
	if err != nil {
		if errors.As(err, new(garden.ContainerNotFoundError)) {
			return err
		}
		return fmt.Errorf("property not found: %s", PropContainerIP)
	}
	action, body := "bulk-net-out", map[string]any{"container_ip": ip, "netout_rules": rules}
	if len(rules) == 1 {
		action, body = "net-out", map[string]any{"container_ip": ip, "netout_rule": rules[0]}
	}
	in, _ := json.Marshal(body)
	_, err = g.cfg.Net.run(ctx, g.log.With("handle", h), call{
		args: []string{"--action", action, "--handle", h}, stdin: strings.NewReader(string(in)),
	})
	return notFound(h, err)
}

// GraceTimes returns the stored grace time of every container that has
// one, in one call of gdn-depot.
func (g *Gardener) GraceTimes(ctx context.Context) (map[string]time.Duration, error) {
	all, err := g.allProperties(ctx, nil)
	if err != nil {
		return nil, err
	}
	res := map[string]time.Duration{}
	for h, props := range all {
		if v, ok := props[PropGraceTime]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				g.log.Warn("ignoring a bad grace time", "handle", h, "value", v)
				continue
			}
			res[h] = time.Duration(n)
		}
	}
	return res, nil
}

// allProperties returns the properties of every container that matches
// filter (every container for none).
func (g *Gardener) allProperties(_ context.Context, filter map[string]string) (map[string]map[string]string, error) {
	return g.cfg.Props.AllProperties(filter)
}

// SetGraceTime stores h's grace time. 0 is stored too: it means never
// (not "now", the reference's quirk), also after a restart, where a
// missing value would mean the server's default.
func (g *Gardener) SetGraceTime(ctx context.Context, h string, d time.Duration) error {
	return g.SetProperty(ctx, h, PropGraceTime, strconv.FormatInt(int64(max(d, 0)), 10))
}

// Capacity reports the host's memory, the depot's disk, the image store's
// schedulable disk and the number of containers that fit.
func (g *Gardener) Capacity(ctx context.Context, poolSize int) (garden.Capacity, error) {
	var c garden.Capacity
	c.MemoryInBytes = memTotal()
	var fs unix.Statfs_t
	if err := unix.Statfs(g.cfg.DepotDir, &fs); err == nil {
		c.DiskInBytes = fs.Blocks * uint64(fs.Bsize)
	}
	var cap struct {
		Capacity uint64 `json:"capacity"`
	}
	if err := g.toolJSON(ctx, g.cfg.Image, "", &cap, "capacity"); err == nil && cap.Capacity > 0 {
		c.SchedulableDiskInBytes = cap.Capacity
	} else {
		c.SchedulableDiskInBytes = c.DiskInBytes
	}
	c.MaxContainers = uint64(poolSize)
	if m := g.cfg.MaxContainers; m > 0 && (c.MaxContainers == 0 || uint64(m) < c.MaxContainers) {
		c.MaxContainers = uint64(m)
	}
	return c, nil
}

// memTotal is the host's RAM in bytes, from /proc/meminfo.
func memTotal() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
