// Package gardener carries out Garden operations by running gdn's tools
// (or plugins that speak their contracts) in the order of the design
// brief: gdn-rootfs, the depot, gdn-run, gdn-net on create, the reverse on
// destroy; the depot's steps run in this process (Config.Props). It keeps no container state of its own: everything lives on
// disk, owned by the tool that wrote it, so a restarted server picks up
// where the last one stopped. The one exception is the attachment to each
// running process's FIFOs, which is made again lazily after a restart.
package gardener

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/depot"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/translate"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/gdn-dev/gdn/pkg/runtime"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Property keys the gardener itself reads or writes.
const (
	PropState       = "garden.state"
	PropGraceTime   = "garden.grace-time"
	PropContainerIP = "garden.network.container-ip"
	PropHostIP      = "garden.network.host-ip"
	PropExternalIP  = "garden.network.external-ip"
	PropMappedPorts = "garden.network.mapped-ports"
	// PropPeaVolumes lists the image plugin volumes made for h's peas
	// (comma-separated), which destroy deletes.
	PropPeaVolumes = "gdn.pea-volumes"
	// StateCreated marks a container whose create finished.
	StateCreated = "created"
	// StateCreating and StateDestroying mark the server's own work in
	// progress: set before a create's first stage (in the bundle's first
	// properties) and before a destroy's first teardown. A list leaves
	// such containers out, and startup recovery finishes them off (a
	// server killed half way). A container built by hand with the tools
	// has no garden.state: it is complete, and listed and served as one.
	StateCreating   = "creating"
	StateDestroying = "destroying"
)

// CrashPoints are the steps of create, destroy and net-in at which a test
// can kill the server (pkg/crash): each names what has just been done.
var CrashPoints = []string{
	"gdn-server.create.rootfs", "gdn-server.create.bundle", "gdn-server.create.runtime", "gdn-server.create.network",
	"gdn-server.destroy.marked", "gdn-server.destroy.network", "gdn-server.destroy.runtime", "gdn-server.destroy.rootfs",
	"gdn-server.netin.network",
}

// inProgress tells whether props belong to a container that the server
// is still creating or already destroying.
func inProgress(props map[string]string) bool {
	s := props[PropState]
	return s == StateCreating || s == StateDestroying
}

// Config is what the gardener needs to know: the tools and the policy the
// server's flags set.
type Config struct {
	// DepotDir is gdn-depot's --depot: bundles live in DepotDir/HANDLE.
	DepotDir string
	// Props is the depot in DepotDir, in this process: every depot step
	// (a create's bundle, properties, lists, a destroy's read of the
	// bundle and its removal, the cleanup at start) goes through it, with
	// gdn-depot's own code and locks, one process fewer each.
	Props *depot.Depot
	// Image is the image plugin, PrivilegedImage the one for privileged
	// containers (the same tool unless configured).
	Image, PrivilegedImage Tool
	Run, Net               Tool
	// OwnImagePlugin, OwnPrivilegedImagePlugin and OwnNetworkPlugin say
	// Image, PrivilegedImage and Net are gdn's own tools, whose commands
	// beyond the plugin contracts (init-store, list, cleanup) the server
	// may use. An own PrivilegedImage is gdn-rootfs on a second store,
	// made without id mappings.
	OwnImagePlugin, OwnPrivilegedImagePlugin, OwnNetworkPlugin bool
	// DefaultRootfs is used when a spec names no image.
	DefaultRootfs string
	// Bundle is what every container's bundle depends on (the host's
	// facts, gdn-init's path, the cgroup parent, the id mappings): create
	// writes the bundle in this process, with gdn-depot create's rules
	// and depot, as Guardian's own depot does, one process fewer each.
	Bundle bundle.Config
	// MaxContainers caps the number of containers (0: no cap).
	MaxContainers int
	// DisablePrivileged refuses privileged containers.
	DisablePrivileged bool
	// NetworkMetrics fills Metrics.NetworkStat.
	NetworkMetrics bool
	// CleanupProcessDirsOnWait removes a process's directory once a
	// client has had its exit status: it can be waited for only once.
	CleanupProcessDirsOnWait bool
	// Exec is how Run starts processes: in this process, with gdn-run
	// exec's own code (pkg/process).
	Exec ExecConfig
	// CPUEntitlementPerShare is the percentage of a CPU each share is
	// entitled to (Metrics.CPUEntitlement).
	CPUEntitlementPerShare float64
	Log                    *slog.Logger
}

// ExecConfig is what Run needs to start a process the way gdn-run exec
// does: the runtime root and cgroup parent gdn-run uses, dadoo, and the
// gdn-run that dadoo starts the process with.
type ExecConfig struct {
	RuntimeRoot, CgroupParent string
	Dadoo, Starter            string
	Env                       []string // added to this process's environment for dadoo
}

// Gardener runs Garden operations through the tools.
type Gardener struct {
	cfg Config
	log *slog.Logger

	// slots counts containers and creates in flight against
	// MaxContainers, so that parallel creates cannot overshoot it.
	slotsMu  sync.Mutex
	creating map[string]bool

	// destroying guards against two destroys of one handle at once.
	destroyMu  sync.Mutex
	destroying map[string]bool

	procs *processes

	// netInMu serialises NetIn's update of garden.network.mapped-ports.
	netInMu sync.Mutex

	// execRT is the runtime of Config.Exec, made on first use.
	execOnce sync.Once
	execRT   *runtime.Runtime
	execErr  error
}

// New returns a Gardener for cfg.
func New(cfg Config) *Gardener {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gardener{
		cfg: cfg, log: log,
		creating:   map[string]bool{},
		destroying: map[string]bool{},
		procs:      newProcesses(cfg.CleanupProcessDirsOnWait, log),
	}
}

// bundle returns the bundle directory of h.
func (g *Gardener) bundle(h string) string { return filepath.Join(g.cfg.DepotDir, h) }

// newUUID returns a random UUID v4, as Guardian generates handles and
// process ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Lookup returns nil if h is a container in the depot, else
// garden.ContainerNotFoundError.
func (g *Gardener) Lookup(h string) error {
	if handle.Validate(h) != nil {
		return garden.ContainerNotFoundError{Handle: h}
	}
	if _, err := os.Stat(filepath.Join(g.bundle(h), "config.json")); err != nil {
		return garden.ContainerNotFoundError{Handle: h}
	}
	return nil
}

// notFound turns a tool's ContainerNotFound into Garden's error for h.
func notFound(h string, err error) error {
	if errors.Is(err, errkind.ContainerNotFound) {
		return garden.ContainerNotFoundError{Handle: h}
	}
	return err
}

// reserve takes a container slot for h, or fails as Guardian does when
// the limit is reached or the handle exists.
func (g *Gardener) reserve(ctx context.Context, h string) error {
	g.slotsMu.Lock()
	defer g.slotsMu.Unlock()
	if g.creating[h] || g.Lookup(h) == nil {
		//lint:ignore ST1005 Garden clients see the reference's exact text
		return fmt.Errorf("Handle '%s' already in use", h)
	}
	if g.cfg.MaxContainers > 0 {
		handles, err := g.list(ctx, nil)
		if err != nil {
			return err
		}
		n := len(g.creating)
		for _, x := range handles {
			if !g.creating[x] {
				n++
			}
		}
		if n >= g.cfg.MaxContainers {
			return errors.New("max containers reached")
		}
	}
	g.creating[h] = true
	return nil
}

func (g *Gardener) release(h string) {
	g.slotsMu.Lock()
	delete(g.creating, h)
	g.slotsMu.Unlock()
}

// Create makes a container from spec and returns its handle. Every stage
// that ran is undone if a later one fails; the error is the failing
// stage's.
func (g *Gardener) Create(ctx context.Context, spec garden.ContainerSpec) (_ string, err error) {
	h := spec.Handle
	if h == "" {
		h = newUUID()
		spec.Handle = h
	}
	if err := handle.Validate(h); err != nil {
		return "", err
	}
	if spec.Privileged && g.cfg.DisablePrivileged {
		return "", errors.New("privileged container creation is disabled")
	}
	if spec.RootFSPath != "" && spec.Image.URI != "" {
		//lint:ignore ST1005 Garden clients see the reference's exact text
		return "", errors.New("Cannot provide both Image.URI and RootFSPath")
	}
	if err := g.reserve(ctx, h); err != nil {
		return "", err
	}
	defer g.release(h)
	log := g.log.With("handle", h)
	start := time.Now()
	// The undo stack runs on failure, last stage first, on a context of
	// its own: a client that went away must not leave half a container.
	var undo []func(context.Context) error
	defer func() {
		if err == nil {
			return
		}
		// A stage refused because the handle is taken made nothing, and
		// what holds the name (a container built by hand meanwhile) is not
		// this create's to undo.
		if errors.Is(err, errkind.HandleInUse) && len(undo) > 0 {
			undo = undo[:len(undo)-1]
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		// A failed undo stops the rollback: what the earlier stages made
		// stays (the bundle, marked creating, above all), so nothing is
		// left that the depot does not name. A destroy by the client, or
		// the next startup's recovery, takes it down whole.
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](cctx); uerr != nil {
				log.Error("create rollback failed; the container stays, marked creating, for a destroy or the next start", "error", uerr)
				return
			}
		}
		log.Info("create failed, rolled back", "error", err)
	}()

	// Each undo is registered before its stage runs (every tool's
	// teardown is idempotent), so a stage that fails half way is undone
	// too, whether or not the tool cleaned up after itself.
	undo = append(undo, func(ctx context.Context) error { return g.deleteRootfs(ctx, g.imageTool(spec.Privileged), h, h) })
	partial, rootfs, err := g.createRootfs(ctx, h, spec)
	if err != nil {
		return "", err
	}
	crash.Point("gdn-server.create.rootfs")

	if spec.Properties == nil {
		spec.Properties = map[string]string{}
	}
	spec.Properties[PropState] = StateCreating
	if spec.GraceTime > 0 {
		spec.Properties[PropGraceTime] = strconv.FormatInt(int64(spec.GraceTime), 10)
	}
	undo = append(undo, func(ctx context.Context) error { return g.destroyBundle(ctx, h) })
	if err := g.createBundle(ctx, h, spec, partial, rootfs); err != nil {
		return "", err
	}
	crash.Point("gdn-server.create.bundle")

	// gdn-run create reports the init's pid as soon as its namespaces
	// exist (--pid-fd). gdn-net starts with gdn-run and makes what needs
	// no pid (allocation, firewall, bridge) meanwhile; it gets the pid
	// through a pipe of its own (--pid-fd), which the server writes: the
	// early pid, or the created one from a gdn-run that does not report
	// early, or nothing if the create failed (gdn-net then fails and
	// cleans up). A network plugin gets the pid on stdin, as the
	// contract says, once the early pid is known.
	undo = append(undo, func(ctx context.Context) error { return g.deleteRuntime(ctx, h) })
	undo = append(undo, func(ctx context.Context) error { return g.netDown(ctx, h) })
	pidR, pidW, err := os.Pipe()
	if err != nil {
		return "", err
	}
	var netPidR, netPidW *os.File
	if g.cfg.OwnNetworkPlugin {
		if netPidR, netPidW, err = os.Pipe(); err != nil {
			pidR.Close()
			pidW.Close()
			return "", err
		}
	}
	var (
		props    map[string]string
		netErr   error
		netRan   = make(chan struct{})
		earlyPid int
		pidRead  = make(chan struct{})
	)
	go func() {
		defer close(pidRead)
		defer pidR.Close()
		var pid int
		if _, err := fmt.Fscan(pidR, &pid); err == nil && pid > 0 {
			earlyPid = pid
			if netPidW != nil {
				fmt.Fprintf(netPidW, "%d\n", pid)
				netPidW.Close()
			}
		}
	}()
	go func() {
		defer close(netRan)
		if netPidR != nil {
			defer netPidR.Close()
			props, netErr = g.netUp(ctx, h, 0, netPidR, spec)
			return
		}
		<-pidRead
		if earlyPid == 0 {
			netErr = errNoEarlyPid
			return
		}
		props, netErr = g.netUp(ctx, h, earlyPid, nil, spec)
	}()
	out, err := g.cfg.Run.run(ctx, log, call{args: []string{"create", h, "--bundle", g.bundle(h), "--pid-fd", "3"}, extra: []*os.File{pidW}})
	pidW.Close()
	var created struct {
		Pid int `json:"pid"`
	}
	if err == nil {
		if jerr := json.Unmarshal(out, &created); jerr != nil || created.Pid <= 0 {
			err = fmt.Errorf("gdn-run create printed no pid: %q", out)
		}
	}
	<-pidRead
	if netPidW != nil && earlyPid == 0 {
		// No early pid: gdn-net gets the created one, or, if the
		// create failed, none (it then fails and cleans up).
		if err == nil {
			fmt.Fprintf(netPidW, "%d\n", created.Pid)
		}
		netPidW.Close()
	}
	<-netRan
	if err != nil {
		if errors.Is(err, errkind.HandleInUse) {
			// Refused before any namespace: the network did not go up
			// (gdn-net got no pid and took down what it had made),
			// and whatever holds the name is not ours to take down
			// (the rollback skips the runtime's undo likewise).
			undo = undo[:len(undo)-1]
		}
		return "", err
	}
	crash.Point("gdn-server.create.runtime")
	if errors.Is(netErr, errNoEarlyPid) {
		// A gdn-run that does not report early: the network goes up now.
		props, netErr = g.netUp(ctx, h, created.Pid, nil, spec)
	}
	if netErr != nil {
		return "", netErr
	}
	crash.Point("gdn-server.create.network")
	props[PropState] = StateCreated
	if err := g.mergeProps(h, props); err != nil {
		return "", err
	}
	log.Info("created", "duration", time.Since(start))
	return h, nil
}

// errNoEarlyPid: gdn-run create closed --pid-fd without a pid.
var errNoEarlyPid = errors.New("no early pid")

// imageURI returns the image plugin's URI for spec's image: the default
// rootfs when none, docker's #tag as :tag, a plain path as is. raw:// is
// not for the plugin: its path is the rootfs itself.
func (g *Gardener) imageURI(spec garden.ContainerSpec) (uri string, raw bool) {
	uri = spec.Image.URI
	if uri == "" {
		uri = spec.RootFSPath
	}
	if uri == "" {
		uri = g.cfg.DefaultRootfs
	}
	return pluginURI(uri)
}

// pluginURI converts a Garden image URI for the image plugin: docker's
// #tag becomes :tag; raw:///path is no plugin's business (raw is true and
// uri the path).
func pluginURI(uri string) (_ string, raw bool) {
	if p, ok := strings.CutPrefix(uri, "raw://"); ok {
		return p, true
	}
	if strings.HasPrefix(uri, "docker:") {
		if base, tag, ok := strings.Cut(uri, "#"); ok {
			uri = base + ":" + tag
		}
	}
	return uri, false
}

// imageTool returns the image plugin for a container of that privilege:
// PrivilegedImage for a privileged one when there is one, else Image.
func (g *Gardener) imageTool(privileged bool) Tool {
	if privileged && g.cfg.PrivilegedImage.Path != "" {
		return g.cfg.PrivilegedImage
	}
	return g.cfg.Image
}

// otherImageTool returns the plugin imageTool(privileged) does not, if
// there are two: a container made before the server had a privileged
// store has its volume in the other one.
func (g *Gardener) otherImageTool(privileged bool) (Tool, bool) {
	if g.cfg.PrivilegedImage.Path == "" {
		return Tool{}, false
	}
	return g.imageTool(!privileged), true
}

// createRootfs runs the image plugin and returns its partial spec, or for
// raw:// the rootfs path.
func (g *Gardener) createRootfs(ctx context.Context, h string, spec garden.ContainerSpec) ([]byte, string, error) {
	uri, raw := g.imageURI(spec)
	if uri == "" {
		return nil, "", fmt.Errorf("no image given and no --default-rootfs: %w", errkind.InvalidSpec)
	}
	if raw {
		return nil, uri, nil
	}
	var args []string
	if d := spec.Limits.Disk; d.ByteHard > 0 {
		args = append(args, "--disk-limit-size-bytes", strconv.FormatUint(d.ByteHard, 10))
		if d.Scope == garden.DiskLimitScopeExclusive {
			args = append(args, "--exclude-image-from-quota")
		}
	}
	if spec.Image.Username != "" {
		args = append(args, "--username", spec.Image.Username)
	}
	if spec.Image.Password != "" {
		args = append(args, "--password", spec.Image.Password)
	}
	image := g.imageTool(spec.Privileged)
	args = append(append([]string{"create"}, image.CreateArgs...), append(args, uri, h)...)
	out, err := image.run(ctx, g.log.With("handle", h), call{args: args})
	return out, "", err
}

// deleteVolume deletes volume vol of h from the plugin its privilege
// names and, when there are two, from the other one too unless the first
// said it held vol (gdn-rootfs prints "deleted"): one tool run per volume
// on the usual path. A plugin that does not say is followed by the other,
// as the reference asks both.
func (g *Gardener) deleteVolume(ctx context.Context, privileged bool, h, vol string) error {
	out, err := g.imageTool(privileged).run(ctx, g.log.With("handle", h), call{args: []string{"delete", vol}})
	if err != nil {
		return err
	}
	other, ok := g.otherImageTool(privileged)
	if !ok {
		return nil
	}
	var res struct {
		Deleted *bool `json:"deleted"`
	}
	if json.Unmarshal(out, &res) == nil && res.Deleted != nil && *res.Deleted {
		return nil
	}
	return g.deleteRootfs(ctx, other, h, vol)
}

// deleteRootfs deletes volume vol of h with the image plugin that made it.
func (g *Gardener) deleteRootfs(ctx context.Context, image Tool, h, vol string) error {
	_, err := image.run(ctx, g.log.With("handle", h), call{args: []string{"delete", vol}})
	return err
}

// createBundle writes h's bundle and initial properties, as gdn-depot
// create does, from the image plugin's partial spec (or a raw rootfs) and
// the ContainerSpec.
func (g *Gardener) createBundle(ctx context.Context, h string, spec garden.ContainerSpec, partial []byte, rootfs string) (err error) {
	began := time.Now()
	defer func() {
		g.log.Debug("wrote bundle", "handle", h, "duration", time.Since(began), "error", err)
	}()
	spec.Handle = h
	d, props, err := translate.Desired(spec)
	if err != nil {
		return err
	}
	if rootfs != "" {
		if d.Rootfs, err = filepath.Abs(rootfs); err != nil {
			return err
		}
	} else {
		var image specs.Spec
		if err := json.Unmarshal(partial, &image); err != nil {
			return fmt.Errorf("the image plugin's spec: %w: %w", err, errkind.InvalidSpec)
		}
		if err := d.FromImage(&image); err != nil {
			return err
		}
	}
	d.Created = time.Now()
	oci, err := bundle.Generate(d, bundle.DefaultRules(g.cfg.Bundle))
	if err != nil {
		return err
	}
	_, err = g.cfg.Props.Create(ctx, h, oci, props)
	return err
}

func (g *Gardener) destroyBundle(_ context.Context, h string) error {
	_, err := g.cfg.Props.Destroy(h)
	return err
}

func (g *Gardener) deleteRuntime(ctx context.Context, h string) error {
	_, err := g.cfg.Run.run(ctx, g.log.With("handle", h), call{args: []string{"delete", h}})
	return err
}

// netUpInput is the network plugin contract's up body, with gdn-net's
// additions (network, limits) that other plugins ignore.
type netUpInput struct {
	Pid        int               `json:"Pid"`
	Properties map[string]string `json:"Properties"`
	NetOut     json.RawMessage   `json:"netout_rules,omitempty"`
	NetIn      []garden.NetIn    `json:"netin,omitempty"`
	Network    string            `json:"network,omitempty"`
	Limits     *netLimits        `json:"limits,omitempty"`
}

type netLimits struct {
	Bandwidth garden.BandwidthLimits `json:"bandwidth_limits"`
}

// netUp runs the network's up for h: with the pid on stdin, or (gdn-net
// only) with pid 0 and the pid to come on pidFrom (--pid-fd).
func (g *Gardener) netUp(ctx context.Context, h string, pid int, pidFrom *os.File, spec garden.ContainerSpec) (map[string]string, error) {
	in := netUpInput{Pid: pid, Properties: map[string]string{}, NetOut: spec.NetOut, NetIn: spec.NetIn, Network: spec.Network}
	for k, v := range spec.Properties {
		if rest, ok := strings.CutPrefix(k, "network."); ok {
			in.Properties[rest] = v
		}
	}
	if bw := spec.Limits.Bandwidth; bw.RateInBytesPerSecond > 0 {
		in.Limits = &netLimits{Bandwidth: bw}
	}
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	c := call{
		args:  []string{"--action", "up", "--handle", h, "--dns-dir", g.bundle(h)},
		stdin: strings.NewReader(string(body)),
	}
	if pidFrom != nil {
		c.args = append(c.args, "--pid-fd", "3")
		c.extra = []*os.File{pidFrom}
	}
	out, err := g.cfg.Net.run(ctx, g.log.With("handle", h), c)
	if err != nil {
		return nil, err
	}
	var res struct {
		Properties map[string]string `json:"properties"`
	}
	if len(strings.TrimSpace(string(out))) > 0 {
		if err := json.Unmarshal(out, &res); err != nil {
			return nil, fmt.Errorf("network plugin printed %q: %w", out, err)
		}
	}
	if res.Properties == nil {
		res.Properties = map[string]string{}
	}
	return res.Properties, nil
}

// netDown takes h's network down. gdn-net's devices are deleted in the
// background (--detach-devices): nobody destroying a container waits for
// the kernel's RCU barriers, and gdn-net gives the subnet back only once
// they are gone.
func (g *Gardener) netDown(ctx context.Context, h string) error {
	args := []string{"--action", "down", "--handle", h}
	if g.cfg.OwnNetworkPlugin {
		args = append(args, "--detach-devices")
	}
	_, err := g.cfg.Net.run(ctx, g.log.With("handle", h), call{args: args, stdin: strings.NewReader("null")})
	return err
}

// Destroy removes h: network, runtime container (and every process),
// rootfs, bundle. The container is marked destroying first; if a stage
// fails the bundle stays, so destroy can be retried (and startup
// recovery retries it), and the bundle is the last thing to go: nothing
// outlives the depot entry that names it.
func (g *Gardener) Destroy(ctx context.Context, h string) error {
	if err := g.Lookup(h); err != nil {
		return err
	}
	g.destroyMu.Lock()
	if g.destroying[h] {
		g.destroyMu.Unlock()
		return errors.New("container already being destroyed")
	}
	g.destroying[h] = true
	g.destroyMu.Unlock()
	defer func() {
		g.destroyMu.Lock()
		delete(g.destroying, h)
		g.destroyMu.Unlock()
	}()
	ctx = context.WithoutCancel(ctx) // half a destroy helps nobody
	start := time.Now()
	// Marked before the first teardown: from here the container is gone
	// for lists, and a server killed part way finishes at its next start.
	// The summary (its image plugin and pea volumes) is read meanwhile.
	var (
		s          depot.Summary
		showErr    error
		marked     = make(chan struct{})
		downErr    error
		downFinish = make(chan struct{})
	)
	go func() {
		defer close(marked)
		s, showErr = g.show(ctx, h)
	}()
	if err := g.mergeProps(h, map[string]string{PropState: StateDestroying}); err != nil {
		<-marked
		return notFound(h, err)
	}
	<-marked
	if showErr != nil {
		return showErr
	}
	crash.Point("gdn-server.destroy.marked")
	// gdn-net's network and the runtime container are independent: they
	// go down together (the init's death takes the veth's far end along).
	// Another plugin may need the container's namespace: its down comes
	// first.
	go func() {
		defer close(downFinish)
		if downErr = g.netDown(ctx, h); downErr == nil {
			crash.Point("gdn-server.destroy.network")
		}
	}()
	if !g.cfg.OwnNetworkPlugin {
		<-downFinish
		if downErr != nil {
			return downErr
		}
	}
	runErr := g.deleteRuntime(ctx, h)
	<-downFinish
	if err := errors.Join(downErr, runErr); err != nil {
		return err
	}
	crash.Point("gdn-server.destroy.runtime")
	g.procs.forget(h)
	vols := append(strings.Split(s.Properties[PropPeaVolumes], ","), h)
	for _, vol := range vols {
		if vol == "" {
			continue
		}
		if err := g.deleteVolume(ctx, s.Privileged, h, vol); err != nil {
			return err
		}
	}
	crash.Point("gdn-server.destroy.rootfs")
	if err := g.destroyBundle(ctx, h); err != nil {
		return err
	}
	g.log.Info("destroyed", "handle", h, "duration", time.Since(start))
	return nil
}
