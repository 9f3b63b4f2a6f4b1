package gardener

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/translate"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/gdn-dev/gdn/pkg/procdir"
	"github.com/gdn-dev/gdn/pkg/process"
	"github.com/gdn-dev/gdn/pkg/runtime"
	"golang.org/x/sys/unix"
)

// drainGrace is how long output may keep flowing after a process exited
// (a child that inherited its stdout may hold the pipe open forever).
const drainGrace = time.Second

// Output is where an attached client's copy of a process's output goes.
// The writers must not block: the server buffers (and, like the
// reference, drops what overflows) so that one slow client cannot stall
// the process or the other clients.
type Output struct {
	Stdout, Stderr io.Writer
}

// processes holds one attachment per live process: a single reader of its
// FIFOs whose output fans out to every attached client, and a single stdin
// writer into which every client's input is merged.
type processes struct {
	mu   sync.Mutex
	live map[string]*proc // handle/id
	// removeOnWait deletes a process's directory once a client has had
	// its exit status (--cleanup-process-dirs-on-wait).
	removeOnWait bool
	log          *slog.Logger
}

func newProcesses(removeOnWait bool, log *slog.Logger) *processes {
	return &processes{live: map[string]*proc{}, removeOnWait: removeOnWait, log: log}
}

type proc struct {
	id  string
	dir procdir.Dir
	// removeOnWait: see processes.removeOnWait.
	removeOnWait bool

	mu       sync.Mutex
	outs     [2]map[*Output]bool // stdout, stderr subscribers
	stdin    *io.PipeWriter
	closedIn bool
	cancel   context.CancelFunc
	drained  chan struct{} // the FIFO reader finished
	exited   chan struct{} // the exit status is known
	status   int
	waitErr  error
}

// fanout writes a process's stream to every subscriber of that stream.
type fanout struct {
	p *proc
	n int
}

func (f fanout) Write(b []byte) (int, error) {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	for o := range f.p.outs[f.n] {
		w := o.Stdout
		if f.n == 1 {
			w = o.Stderr
		}
		if w != nil {
			_, _ = w.Write(b)
		}
	}
	return len(b), nil
}

// get returns the attachment of dir, making it (and starting its reader)
// if there is none; attached runs once the reader holds the FIFOs.
func (ps *processes) get(key, id string, dir procdir.Dir, first *Output, attached func()) (*proc, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	release := sync.OnceFunc(func() {
		if attached != nil {
			attached()
		}
	})
	if p, ok := ps.live[key]; ok {
		p.subscribe(first)
		release()
		return p, false
	}
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	p := &proc{
		id: id, dir: dir, stdin: w, cancel: cancel, removeOnWait: ps.removeOnWait,
		outs:    [2]map[*Output]bool{{}, {}},
		drained: make(chan struct{}), exited: make(chan struct{}),
	}
	p.subscribe(first)
	ps.live[key] = p
	go func() {
		defer close(p.drained)
		err := dir.Attach(ctx, procdir.Streams{
			Stdin: r, Stdout: fanout{p, 0}, Stderr: fanout{p, 1}, Attached: release,
		})
		if err != nil && ctx.Err() == nil {
			// The process goes on and its status still comes; what it
			// printed is lost to its clients.
			ps.log.Error("reading a process's output", "process", key, "error", err)
		}
		release() // also when Attach failed before holding anything
		r.Close()
	}()
	go func() {
		p.status, p.waitErr = dir.Wait(context.Background())
		close(p.exited)
		select {
		case <-p.drained:
		case <-time.After(drainGrace):
		}
		cancel()
		<-p.drained
		p.closeStdin()
		ps.mu.Lock()
		if ps.live[key] == p {
			delete(ps.live, key)
		}
		ps.mu.Unlock()
	}()
	return p, true
}

// forgetWait bounds how long forget waits for an exit status.
const forgetWait = 5 * time.Second

// forget ends the attachments of h's processes, whose runtime container
// is gone: every process is dead and its exit status recorded in its
// directory, which goes with the bundle next. Each attachment first reads
// that status and the rest of the output, so a client still waiting gets
// them (137 for a process the delete killed) rather than an error for a
// vanished directory.
func (ps *processes) forget(h string) {
	ps.mu.Lock()
	var mine []*proc
	for key, p := range ps.live {
		if strings.HasPrefix(key, h+"/") {
			mine = append(mine, p)
			delete(ps.live, key)
		}
	}
	ps.mu.Unlock()
	timeout := time.After(forgetWait)
	for _, p := range mine {
		select {
		case <-p.exited:
		case <-timeout:
		}
		// And its last output, which its dead writers have ended.
		select {
		case <-p.drained:
		case <-timeout:
		}
		p.cancel()
	}
}

func (p *proc) subscribe(o *Output) {
	if o == nil {
		return
	}
	p.mu.Lock()
	p.outs[0][o], p.outs[1][o] = true, true
	p.mu.Unlock()
}

func (p *proc) closeStdin() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closedIn {
		p.closedIn = true
		p.stdin.Close()
	}
}

// Process is one client's attachment to a process.
type Process struct {
	p   *proc
	out *Output
}

// ID returns the process id.
func (pr *Process) ID() string { return pr.p.id }

// WriteStdin feeds data to the process's stdin (merged with other
// clients'). It blocks while the process does not read.
func (pr *Process) WriteStdin(data []byte) error {
	_, err := pr.p.stdin.Write(data)
	return err
}

// CloseStdin ends the process's stdin.
func (pr *Process) CloseStdin() { pr.p.closeStdin() }

// Signal sends Garden's terminate (SIGTERM) or kill (SIGKILL).
func (pr *Process) Signal(s garden.Signal) error {
	switch s {
	case garden.SignalTerminate:
		return pr.p.dir.Signal(unix.SIGTERM)
	case garden.SignalKill:
		return pr.p.dir.Signal(unix.SIGKILL)
	}
	return fmt.Errorf("unknown signal %d", s)
}

// SetTTY resizes the process's terminal.
func (pr *Process) SetTTY(t garden.TTYSpec) error {
	if t.WindowSize == nil {
		return nil
	}
	return pr.p.dir.SetWindowSize(procdir.WindowSize{Columns: t.WindowSize.Columns, Rows: t.WindowSize.Rows})
}

// Wait returns the exit status once the process has exited and its
// output has been delivered to this client's writers.
func (pr *Process) Wait(ctx context.Context) (int, error) {
	select {
	case <-pr.p.exited:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case <-pr.p.drained:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if pr.p.removeOnWait && pr.p.waitErr == nil {
		// Every writer of its FIFOs is gone (drained), dadoo included:
		// nothing uses the directory any more.
		_ = pr.p.dir.Remove()
	}
	return pr.p.status, pr.p.waitErr
}

// Detach stops this client's copy of the output; the process goes on.
func (pr *Process) Detach() {
	pr.p.mu.Lock()
	delete(pr.p.outs[0], pr.out)
	delete(pr.p.outs[1], pr.out)
	pr.p.mu.Unlock()
}

// processDir is where h's process id lives.
func (g *Gardener) processDir(h, id string) procdir.Dir {
	return procdir.Dir(filepath.Join(g.bundle(h), "processes", id))
}

// Run starts spec in h under its own dadoo (see execDirect) and attaches out
// to it before its stdin may end.
func (g *Gardener) Run(ctx context.Context, h string, spec garden.ProcessSpec, out *Output) (*Process, error) {
	if err := g.Lookup(h); err != nil {
		return nil, err
	}
	if spec.ID == "" {
		spec.ID = newUUID()
	}
	if err := handle.Validate(spec.ID); err != nil {
		return nil, fmt.Errorf("process ID %q: %w", spec.ID, err)
	}
	if g.processDir(h, spec.ID).Exists() {
		return nil, fmt.Errorf("process ID '%s' already in use", spec.ID)
	}
	if spec.Image.URI == "" && len(spec.BindMounts) > 0 {
		//lint:ignore ST1005 Garden clients see the reference's exact text
		return nil, errors.New("Running a process with bind mounts and no image provided is not allowed")
	}
	image, vol, err := g.peaImage(ctx, h, &spec)
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if vol != "" && !started {
			_ = g.deleteRootfs(context.WithoutCancel(ctx), image, h, vol)
		}
	}()
	p, err := g.execDirect(ctx, h, spec, out)
	started = err == nil
	return p, err
}

// execDirect starts a process as gdn-run exec does, with the same code
// (pkg/process), in this process: it prepares the process and spawns its
// dadoo, as Guardian's server spawns dadoo itself. One Go process fewer
// per Run than running gdn-run exec (about 5 ms here).
func (g *Gardener) execDirect(ctx context.Context, h string, spec garden.ProcessSpec, out *Output) (*Process, error) {
	es, err := translate.ExecSpec(spec)
	if err != nil {
		return nil, err
	}
	rt, err := g.execRuntime()
	if err != nil {
		return nil, err
	}
	x := &g.cfg.Exec
	started, err := process.Exec(ctx, rt, process.Config{DadooPath: x.Dadoo, StarterPath: x.Starter, RuntimeRoot: x.RuntimeRoot, Env: x.Env}, h, spec.ID, es)
	if err != nil {
		switch errkind.Of(err) {
		case errkind.ExecutableNotFound:
			return nil, garden.ExecutableNotFoundError{Message: err.Error()}
		case errkind.ContainerNotFound:
			return nil, garden.ContainerNotFoundError{Handle: h}
		}
		return nil, err
	}
	// The reader and stdin writer are held before the process's stdin
	// writer of ours goes, so the process never sees a premature EOF.
	p, _ := g.procs.get(h+"/"+spec.ID, spec.ID, started.Dir, out, func() { started.Stdin.Close() })
	return &Process{p: p, out: out}, nil
}

// execRuntime returns the runtime execDirect prepares processes with.
func (g *Gardener) execRuntime() (*runtime.Runtime, error) {
	g.execOnce.Do(func() {
		x := &g.cfg.Exec
		g.execRT, g.execErr = runtime.New(runtime.Config{Root: x.RuntimeRoot, CgroupParent: x.CgroupParent, Logger: g.log})
	})
	return g.execRT, g.execErr
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return strings.HasPrefix(path, "/") && err == nil && fi.IsDir()
}

// peaImage makes the rootfs of a pea whose image is an image URI (not a
// directory) with the image plugin, records its volume for destroy, and
// points spec at it. It returns the plugin and the volume ("" if none
// was needed).
func (g *Gardener) peaImage(ctx context.Context, h string, spec *garden.ProcessSpec) (Tool, string, error) {
	uri := spec.Image.URI
	if uri == "" || strings.HasPrefix(uri, "raw://") || isDir(uri) {
		return Tool{}, "", nil
	}
	uri, _ = pluginURI(uri)
	vol := peaVolume(h, spec.ID)
	s, err := g.show(ctx, h)
	if err != nil {
		return Tool{}, "", err
	}
	image := g.imageTool(s.Privileged)
	// Recorded before it exists, so that no crash can leave it unnamed.
	vols := s.Properties[PropPeaVolumes]
	if vols != "" {
		vols += ","
	}
	if err := g.SetProperty(ctx, h, PropPeaVolumes, vols+vol); err != nil {
		return Tool{}, "", err
	}
	args := append([]string{"create"}, image.CreateArgs...)
	if spec.Image.Username != "" {
		args = append(args, "--username", spec.Image.Username, "--password", spec.Image.Password)
	}
	out, err := image.run(ctx, g.log.With("handle", h), call{args: append(args, uri, vol)})
	if err != nil {
		return Tool{}, "", err
	}
	var partial struct {
		Root struct {
			Path string `json:"path"`
		} `json:"root"`
	}
	if err := json.Unmarshal(out, &partial); err != nil || partial.Root.Path == "" {
		return image, vol, fmt.Errorf("image plugin printed no root.path for pea image %q", uri)
	}
	spec.Image = garden.ImageRef{URI: "raw://" + partial.Root.Path}
	return image, vol, nil
}

// peaVolume names the image plugin volume of pea id of h.
func peaVolume(h, id string) string {
	sum := sha256.Sum256([]byte(h + "/" + id))
	return "pea-" + hex.EncodeToString(sum[:16])
}

// Attach attaches out to process id of h: its output from now on, and its
// exit status (at once for a process that has exited).
func (g *Gardener) Attach(ctx context.Context, h, id string, out *Output) (*Process, error) {
	if err := g.Lookup(h); err != nil {
		return nil, err
	}
	if handle.Validate(id) != nil || !g.processDir(h, id).Exists() {
		return nil, garden.ProcessNotFoundError{ProcessID: id}
	}
	p, _ := g.procs.get(h+"/"+id, id, g.processDir(h, id), out, nil)
	return &Process{p: p, out: out}, nil
}
