// Package server serves the Garden HTTP API (28 routes, byte-compatible
// with the reference server) in front of a Backend, which in gdn-server is
// the gardener running gdn's tools. The server itself keeps only what a
// front end needs: grace timers and open process streams.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/gardener"
)

// Operations are the backend's container operations: every Backend
// method but the two that hand out processes.
type Operations interface {
	Lookup(h string) error
	Capacity(ctx context.Context, poolSize int) (garden.Capacity, error)
	Create(ctx context.Context, spec garden.ContainerSpec) (string, error)
	Destroy(ctx context.Context, h string) error
	List(ctx context.Context, filter garden.Properties) ([]string, error)
	Info(ctx context.Context, h string) (garden.ContainerInfo, error)
	Metrics(ctx context.Context, h string) (garden.Metrics, error)
	Stop(ctx context.Context, h string, kill bool) error
	StreamIn(ctx context.Context, h, user, dst string, r io.Reader) error
	StreamOut(ctx context.Context, h, user, src string, w io.Writer) error
	MemoryLimits(ctx context.Context, h string) (garden.MemoryLimits, error)
	CPULimits(ctx context.Context, h string) (garden.CPULimits, error)
	NetIn(ctx context.Context, h string, hostPort, containerPort uint32) (uint32, uint32, error)
	NetOut(ctx context.Context, h string, rules []garden.NetOutRule) error
	Properties(ctx context.Context, h string) (garden.Properties, error)
	Property(ctx context.Context, h, key string) (string, error)
	SetProperty(ctx context.Context, h, key, value string) error
	RemoveProperty(ctx context.Context, h, key string) error
	// GraceTimes returns the stored grace time of every container that
	// has one (0 included: never reaped).
	GraceTimes(ctx context.Context) (map[string]time.Duration, error)
	SetGraceTime(ctx context.Context, h string, d time.Duration) error
}

// Process is one client's attachment to a running process, as Run and
// Attach hand it out; *gardener.Process is the real one.
type Process interface {
	ID() string
	WriteStdin(data []byte) error
	CloseStdin()
	Signal(s garden.Signal) error
	SetTTY(t garden.TTYSpec) error
	// Wait returns the exit status once the process has exited and its
	// output has reached this attachment's writers.
	Wait(ctx context.Context) (int, error)
	// Detach stops this attachment's output; the process goes on.
	Detach()
}

// Backend carries out the operations; *gardener.Gardener is the real one
// (with P = *gardener.Process), and New infers P from it.
type Backend[P Process] interface {
	Operations
	Run(ctx context.Context, h string, spec garden.ProcessSpec, out *gardener.Output) (P, error)
	Attach(ctx context.Context, h, id string, out *gardener.Output) (P, error)
}

// backend is a Backend with its process type erased, as the server uses it.
type backend interface {
	Operations
	Run(ctx context.Context, h string, spec garden.ProcessSpec, out *gardener.Output) (Process, error)
	Attach(ctx context.Context, h, id string, out *gardener.Output) (Process, error)
}

var _ Backend[*gardener.Process] = (*gardener.Gardener)(nil)

type erased[P Process] struct{ Backend[P] }

func (e erased[P]) Run(ctx context.Context, h string, spec garden.ProcessSpec, out *gardener.Output) (Process, error) {
	p, err := e.Backend.Run(ctx, h, spec, out)
	if err != nil {
		return nil, err // not p: a nil *T in an interface is not nil
	}
	return p, nil
}

func (e erased[P]) Attach(ctx context.Context, h, id string, out *gardener.Output) (Process, error) {
	p, err := e.Backend.Attach(ctx, h, id, out)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Config is the server's policy.
type Config struct {
	// DefaultGraceTime applies to containers created with grace_time 0.
	DefaultGraceTime time.Duration
	// PoolSize is the number of container subnets (for Capacity).
	PoolSize int
	Log      *slog.Logger
	// Observe, if set, is told about every finished request.
	Observe func(route string, status int, d time.Duration)
	// Failed, if set, is told about every request answered with a 4xx or
	// 5xx, with the error written (nil if the handler wrote none).
	Failed func(route string, status int, err error)
	// Reaped, if set, is told about every destroy of a container whose
	// grace time expired (err nil when it went).
	Reaped func(err error)
	// BodyTimeout is how long a JSON request body may take to arrive
	// (0: DefaultBodyTimeout). Stream-in bodies and hijacked Run/Attach
	// connections have no deadline.
	BodyTimeout time.Duration
}

// DefaultBodyTimeout is the BodyTimeout of a zero Config.
const DefaultBodyTimeout = time.Minute

// MaxJSONBody is the largest JSON request body, far more than any spec
// needs: a larger one is refused, read no further than this.
const MaxJSONBody = 1 << 20

// Server is the Garden API.
type Server struct {
	cfg     Config
	b       backend
	log     *slog.Logger
	router  router
	streams *streams
	reaper  *reaper
	reqID   atomic.Uint64
	// detach ends open Run/Attach connections on shutdown.
	detach    chan struct{}
	detaching atomic.Bool
}

// New returns a Server for b.
func New[P Process](b Backend[P], cfg Config) *Server {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, b: erased[P]{b}, log: log, streams: newStreams(), detach: make(chan struct{})}
	s.reaper = newReaper(s.reap)
	s.router = router{routes: s.routes()}
	return s
}

// Restore arms a grace timer for every existing container, from its
// stored grace time (or the default). The countdowns start afresh.
func (s *Server) Restore(ctx context.Context) error {
	handles, err := s.b.List(ctx, garden.Properties{gardener.PropState: "all"})
	if err != nil {
		return err
	}
	stored, err := s.b.GraceTimes(ctx)
	if err != nil {
		return err
	}
	for _, h := range handles {
		d, ok := stored[h]
		if !ok {
			d = s.cfg.DefaultGraceTime
		}
		s.reaper.arm(h, d)
	}
	return nil
}

// Detach makes open Run/Attach connections return without touching their
// processes (used on shutdown: http.Server.Shutdown does not wait for
// hijacked connections).
func (s *Server) Detach() {
	if s.detaching.CompareAndSwap(false, true) {
		close(s.detach)
	}
}

func (s *Server) reap(h string) {
	log := s.log.With("handle", h)
	log.Info("grace time expired: destroying")
	err := s.b.Destroy(context.Background(), h)
	if err != nil {
		log.Error("reap", "error", err, "stage", Stage(err))
	}
	if s.cfg.Reaped != nil {
		s.cfg.Reaped(err)
	}
}

// ServeHTTP routes, logs and measures every request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	rt, p, ok := s.router.lookup(rec, r)
	name := "NotFound"
	if ok {
		name = rt.name
		rt.handler(rec, r, p)
	} else if rec.status == http.StatusMethodNotAllowed {
		name = "MethodNotAllowed"
	}
	d := time.Since(start)
	id := s.reqID.Add(1)
	s.log.Info("request", "request_id", id, "route", name, "method", r.Method,
		"path", r.URL.Path, "handle", p["handle"], "status", rec.status, "duration", d)
	if rec.status >= 500 {
		// The operator's first question about a 5xx: what failed, for
		// which container, in which stage.
		s.log.Error("request failed", "request_id", id, "route", name, "handle", p["handle"],
			"status", rec.status, "stage", Stage(rec.err), "error", errText(rec.err))
	}
	if s.cfg.Observe != nil {
		s.cfg.Observe(name, rec.status, d)
	}
	if s.cfg.Failed != nil && rec.status >= 400 {
		s.cfg.Failed(name, rec.status, rec.err)
	}
}

// statusRecorder remembers the status for the log; it passes Hijack and
// Flush through (via Unwrap, for http.ResponseController).
type statusRecorder struct {
	http.ResponseWriter
	status int
	// err is what writeError wrote, for the log of a 5xx.
	err error
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// writeJSON writes v as the reference does: compact JSON and a newline.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes err as Garden's error body.
func writeError(w http.ResponseWriter, err error) {
	status, body := garden.ErrorBody(err)
	for u := w; u != nil; {
		if rec, ok := u.(*statusRecorder); ok {
			rec.err = err
			break
		}
		uw, ok := u.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		u = uw.Unwrap()
	}
	writeJSON(w, status, body)
}

// Stage names the step of a request that failed with err: the tool and
// its command ("gdn-rootfs create") when a tool failed, else "server".
func Stage(err error) string {
	var te *cli.ToolError
	if !errors.As(err, &te) {
		return "server"
	}
	if te.Command == "" {
		return te.Tool
	}
	return te.Tool + " " + te.Command
}

// errText is err's message, or a note that the handler wrote no error.
func errText(err error) string {
	if err == nil {
		return "(no error recorded: the handler wrote the status itself)"
	}
	return err.Error()
}

var ok = struct{}{}

// errBodyTooLarge refuses a JSON body over MaxJSONBody. It is a 500 with
// Type "", as the reference answers every body it cannot decode.
var errBodyTooLarge = fmt.Errorf("request body exceeds %d bytes: %w", MaxJSONBody, errkind.InvalidSpec)

// decode reads one JSON value from the body, within MaxJSONBody and the
// body timeout; failure is the reference's 500 with the decoder's message.
//
// The read deadline is left in place: it also bounds net/http's reading
// of what follows the value once the handler is done (hijack clears it,
// and net/http sets its own before the next request). A body too large
// or too slow is read no further at all, and its connection is closed.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength > MaxJSONBody {
		writeError(w, errBodyTooLarge)
		return false
	}
	d := s.cfg.BodyTimeout
	if d <= 0 {
		d = DefaultBodyTimeout
	}
	rc := http.NewResponseController(w)
	if r.ContentLength != 0 { // else there is nothing to read
		_ = rc.SetReadDeadline(time.Now().Add(d))
	}
	body := &limitedBody{r: r.Body, left: MaxJSONBody}
	err := json.NewDecoder(body).Decode(v)
	refuse := true
	switch {
	case body.hit:
		err = errBodyTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = fmt.Errorf("request body not received within %s: %w", d, errkind.InvalidSpec)
	default:
		refuse = false
	}
	if refuse {
		_ = rc.SetReadDeadline(time.Unix(1, 0))
	}
	if err != nil {
		writeError(w, err)
		return false
	}
	return true
}

// limitedBody reads at most left bytes of r; asked for more, it fails
// with errBodyTooLarge without reading them.
type limitedBody struct {
	r    io.Reader
	left int
	hit  bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		b.hit = true
		return 0, errBodyTooLarge
	}
	if len(p) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= n
	return n, err
}

// container looks h up, pauses its grace countdown for the request and
// returns the resume func; on failure it has written the 404.
func (s *Server) container(w http.ResponseWriter, h string) (func(), bool) {
	if err := s.b.Lookup(h); err != nil {
		writeError(w, err)
		return nil, false
	}
	return s.reaper.pause(h), true
}

func (s *Server) routes() []route {
	r := func(name, method, pattern string, h func(http.ResponseWriter, *http.Request, params)) route {
		return route{name: name, method: method, pattern: split(pattern), handler: h}
	}
	// c wraps a per-container handler that pauses the grace countdown.
	c := func(h func(http.ResponseWriter, *http.Request, string)) func(http.ResponseWriter, *http.Request, params) {
		return func(w http.ResponseWriter, req *http.Request, p params) {
			s.withContainer(w, p, func(handle string) { h(w, req, handle) })
		}
	}
	return []route{
		r("Ping", "GET", "/ping", s.ping),
		r("Capacity", "GET", "/capacity", s.capacity),
		r("List", "GET", "/containers", s.list),
		r("Create", "POST", "/containers", s.create),
		r("Info", "GET", "/containers/:handle/info", c(s.info)),
		r("BulkInfo", "GET", "/containers/bulk_info", s.bulkInfo),
		r("BulkMetrics", "GET", "/containers/bulk_metrics", s.bulkMetrics),
		r("Destroy", "DELETE", "/containers/:handle", s.destroy),
		r("Stop", "PUT", "/containers/:handle/stop", c(s.stop)),
		r("StreamIn", "PUT", "/containers/:handle/files", c(s.streamIn)),
		r("StreamOut", "GET", "/containers/:handle/files", c(s.streamOut)),
		r("CurrentBandwidthLimits", "GET", "/containers/:handle/limits/bandwidth", c(s.bandwidthLimits)),
		r("CurrentCPULimits", "GET", "/containers/:handle/limits/cpu", c(s.cpuLimits)),
		r("CurrentDiskLimits", "GET", "/containers/:handle/limits/disk", c(s.diskLimits)),
		r("CurrentMemoryLimits", "GET", "/containers/:handle/limits/memory", c(s.memoryLimits)),
		r("NetIn", "POST", "/containers/:handle/net/in", c(s.netIn)),
		r("NetOut", "POST", "/containers/:handle/net/out", c(s.netOut)),
		r("BulkNetOut", "POST", "/containers/:handle/net/out/bulk", c(s.bulkNetOut)),
		r("Stdout", "GET", "/containers/:handle/processes/:pid/attaches/:streamid/stdout", s.stdout),
		r("Stderr", "GET", "/containers/:handle/processes/:pid/attaches/:streamid/stderr", s.stderr),
		r("Run", "POST", "/containers/:handle/processes", s.run),
		r("Attach", "GET", "/containers/:handle/processes/:pid", s.attach),
		r("SetGraceTime", "PUT", "/containers/:handle/grace_time", s.setGraceTime),
		r("Properties", "GET", "/containers/:handle/properties", c(s.properties)),
		r("Property", "GET", "/containers/:handle/properties/:key", s.property),
		r("SetProperty", "PUT", "/containers/:handle/properties/:key", s.setProperty),
		r("RemoveProperty", "DELETE", "/containers/:handle/properties/:key", s.removeProperty),
		r("Metrics", "GET", "/containers/:handle/metrics", s.metricsOf),
	}
}

func (s *Server) ping(w http.ResponseWriter, _ *http.Request, _ params) { writeJSON(w, 200, ok) }

func (s *Server) capacity(w http.ResponseWriter, r *http.Request, _ params) {
	c, err := s.b.Capacity(r.Context(), s.cfg.PoolSize)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, 200, c)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, _ params) {
	filter := garden.Properties{}
	for k, v := range r.URL.Query() {
		filter[k] = v[0]
	}
	handles, err := s.b.List(r.Context(), filter)
	if err != nil {
		writeError(w, err)
		return
	}
	if handles == nil {
		handles = []string{} // never null
	}
	writeJSON(w, 200, garden.ListResponse{Handles: handles})
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, _ params) {
	var spec garden.ContainerSpec
	if !s.decode(w, r, &spec) {
		return
	}
	if spec.GraceTime == 0 {
		spec.GraceTime = s.cfg.DefaultGraceTime
	}
	h, err := s.b.Create(r.Context(), spec)
	if err != nil {
		writeError(w, err)
		return
	}
	s.reaper.arm(h, spec.GraceTime)
	writeJSON(w, 200, garden.CreateResponse{Handle: h})
}

func (s *Server) destroy(w http.ResponseWriter, r *http.Request, p params) {
	h := p["handle"]
	if err := s.b.Destroy(r.Context(), h); err != nil {
		writeError(w, err)
		return
	}
	s.reaper.remove(h)
	writeJSON(w, 200, ok)
}

func (s *Server) info(w http.ResponseWriter, r *http.Request, h string) {
	info, err := s.b.Info(r.Context(), h)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, 200, info)
}

// metricsOf answers Metrics for a container, pausing its grace countdown
// as every per-container route does, and for a pea's process id, which
// has metrics (it is a runtime container of its own) but nothing to
// pause; the backend refuses anything else as an unknown handle.
func (s *Server) metricsOf(w http.ResponseWriter, r *http.Request, p params) {
	if s.b.Lookup(p["handle"]) != nil {
		s.metrics(w, r, p["handle"])
		return
	}
	s.withContainer(w, p, func(h string) { s.metrics(w, r, h) })
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request, h string) {
	m, err := s.b.Metrics(r.Context(), h)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, 200, m)
}

// bulkHandles reads the handles= parameter (which the reference requires;
// a missing one is answered here as an empty list rather than a dropped
// connection).
func bulkHandles(r *http.Request) []string {
	var hs []string
	for h := range strings.SplitSeq(r.URL.Query().Get("handles"), ",") {
		if h != "" {
			hs = append(hs, h)
		}
	}
	return hs
}

// entryError is a failed bulk entry's Err, next to a zero Info or
// Metrics. As Guardian's, it is a plain error whatever the cause: Type ""
// even for an unknown handle, the message "unknown handle: h".
func entryError(err error) *garden.Error {
	return &garden.Error{Message: err.Error()}
}

// bulkWorkers is how many containers a bulk call asks about at once: each
// answer runs tools, and a bulk call may name hundreds of containers.
const bulkWorkers = 8

// bulk calls f for every handle, workers at a time, and returns the
// answers by handle.
func bulk[T any](handles []string, workers int, f func(h string) T) map[string]T {
	res := make(map[string]T, len(handles))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for _, h := range handles {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			v := f(h)
			mu.Lock()
			res[h] = v
			mu.Unlock()
		}()
	}
	wg.Wait()
	return res
}

func (s *Server) bulkInfo(w http.ResponseWriter, r *http.Request, _ params) {
	writeJSON(w, 200, bulk(bulkHandles(r), bulkWorkers, func(h string) garden.ContainerInfoEntry {
		info, err := s.b.Info(r.Context(), h)
		if err != nil {
			return garden.ContainerInfoEntry{Err: entryError(err)}
		}
		return garden.ContainerInfoEntry{Info: info}
	}))
}

func (s *Server) bulkMetrics(w http.ResponseWriter, r *http.Request, _ params) {
	writeJSON(w, 200, bulk(bulkHandles(r), bulkWorkers, func(h string) garden.ContainerMetricsEntry {
		m, err := s.b.Metrics(r.Context(), h)
		if err != nil {
			return garden.ContainerMetricsEntry{Err: entryError(err)}
		}
		return garden.ContainerMetricsEntry{Metrics: m}
	}))
}

func (s *Server) stop(w http.ResponseWriter, r *http.Request, h string) {
	var req garden.StopRequest
	if !s.decode(w, r, &req) {
		return
	}
	if err := s.b.Stop(r.Context(), h, req.Kill); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, 200, ok)
}

func (s *Server) streamIn(w http.ResponseWriter, r *http.Request, h string) {
	q := r.URL.Query()
	if err := s.b.StreamIn(r.Context(), h, q.Get("user"), q.Get("destination"), r.Body); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, 200, ok)
}

// firstByteWriter sends the 200 with the first byte of the archive, so a
// failure before any byte can still be a JSON error.
type firstByteWriter struct {
	w       http.ResponseWriter
	started bool
}

func (f *firstByteWriter) Write(b []byte) (int, error) {
	f.started = true
	return f.w.Write(b)
}

func (s *Server) streamOut(w http.ResponseWriter, r *http.Request, h string) {
	q := r.URL.Query()
	fw := &firstByteWriter{w: w}
	err := s.b.StreamOut(r.Context(), h, q.Get("user"), q.Get("source"), fw)
	if err != nil && !fw.started {
		writeError(w, err)
		return
	}
	if err != nil {
		// Bytes are out: all that is left is to cut the stream short.
		s.log.Warn("stream out cut short", "handle", h, "error", err)
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) bandwidthLimits(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, 200, garden.BandwidthLimits{})
}

func (s *Server) diskLimits(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, 200, garden.DiskLimits{})
}

func (s *Server) cpuLimits(w http.ResponseWriter, r *http.Request, h string) {
	l, err := s.b.CPULimits(r.Context(), h)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, 200, l)
}

func (s *Server) memoryLimits(w http.ResponseWriter, r *http.Request, h string) {
	l, err := s.b.MemoryLimits(r.Context(), h)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, 200, l)
}

func (s *Server) netIn(w http.ResponseWriter, r *http.Request, h string) {
	var req garden.NetInRequest
	if !s.decode(w, r, &req) {
		return
	}
	hp, cp, err := s.b.NetIn(r.Context(), h, req.HostPort, req.ContainerPort)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, 200, garden.NetInResponse{HostPort: hp, ContainerPort: cp})
}

func (s *Server) netOut(w http.ResponseWriter, r *http.Request, h string) {
	var rule garden.NetOutRule
	if !s.decode(w, r, &rule) {
		return
	}
	if err := s.b.NetOut(r.Context(), h, []garden.NetOutRule{rule}); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, 200, ok)
}

func (s *Server) bulkNetOut(w http.ResponseWriter, r *http.Request, h string) {
	var rules []garden.NetOutRule
	if !s.decode(w, r, &rules) {
		return
	}
	if len(rules) > 0 {
		if err := s.b.NetOut(r.Context(), h, rules); err != nil {
			writeError(w, err)
			return
		}
	}
	writeJSON(w, 200, ok)
}

// setGraceTime stores the new grace time and restarts the countdown; 0
// means never (the reference destroys at once, a quirk not copied). As in
// the reference, backend errors are logged, not returned.
func (s *Server) setGraceTime(w http.ResponseWriter, r *http.Request, p params) {
	h := p["handle"]
	var d time.Duration
	if !s.decode(w, r, &d) {
		return
	}
	if err := s.b.Lookup(h); err != nil {
		writeError(w, err)
		return
	}
	if err := s.b.SetGraceTime(r.Context(), h, d); err != nil {
		s.log.Error("set grace time", "handle", h, "error", err)
	}
	s.reaper.arm(h, d)
	writeJSON(w, 200, ok)
}

func (s *Server) properties(w http.ResponseWriter, r *http.Request, h string) {
	props, err := s.b.Properties(r.Context(), h)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, 200, props)
}

// withContainer runs f for the request's container with its grace
// countdown paused, or answers 404 (routes() wraps most handlers in it).
func (s *Server) withContainer(w http.ResponseWriter, p params, f func(h string)) {
	resume, found := s.container(w, p["handle"])
	if !found {
		return
	}
	defer resume()
	f(p["handle"])
}

func (s *Server) property(w http.ResponseWriter, r *http.Request, p params) {
	s.withContainer(w, p, func(h string) {
		v, err := s.b.Property(r.Context(), h, p["key"])
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, 200, garden.PropertyValue{Value: v})
	})
}

func (s *Server) setProperty(w http.ResponseWriter, r *http.Request, p params) {
	var v garden.PropertyValue
	if !s.decode(w, r, &v) {
		return
	}
	s.withContainer(w, p, func(h string) {
		if err := s.b.SetProperty(r.Context(), h, p["key"], v.Value); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, 200, ok)
	})
}

func (s *Server) removeProperty(w http.ResponseWriter, r *http.Request, p params) {
	s.withContainer(w, p, func(h string) {
		if err := s.b.RemoveProperty(r.Context(), h, p["key"]); err != nil && !errors.As(err, new(garden.ContainerNotFoundError)) {
			s.log.Warn("remove property", "handle", h, "error", err)
		}
		writeJSON(w, 200, ok)
	})
}
