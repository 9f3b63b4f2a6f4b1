package server

import (
	"expvar"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strconv"
	"time"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/version"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's Prometheus metrics.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// Per tool (gdn-rootfs, gdn-run, a plugin...) and command (create,
	// stats, up...): how long each run took, and which failed with
	// which kind: a failure's stage is its tool and command.
	toolRuns     *prometheus.HistogramVec
	toolFailures *prometheus.CounterVec
	// Garden API creates and destroys, and those that failed, by status.
	creates, destroys               prometheus.Counter
	createFailures, destroyFailures *prometheus.CounterVec
}

// NewMetrics registers request counts and latencies per route, the
// number of containers (from count, called at scrape time) and the Go
// runtime's own metrics.
func NewMetrics(count func() float64) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gdn_requests_total", Help: "Garden API requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gdn_request_duration_seconds", Help: "Garden API request latency by route (Run and Attach: until the process exits or the client leaves).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"route"}),
	}
	m.toolRuns = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gdn_tool_run_duration_seconds", Help: "Runs of gdn's tools (or plugins) by tool and command, failed ones included.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"tool", "command"})
	m.toolFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gdn_tool_failures_total", Help: "Tool runs that failed, by tool, command and error kind.",
	}, []string{"tool", "command", "kind"})
	m.creates = prometheus.NewCounter(prometheus.CounterOpts{Name: "gdn_container_creates_total", Help: "Containers created through the API."})
	m.destroys = prometheus.NewCounter(prometheus.CounterOpts{Name: "gdn_container_destroys_total", Help: "Containers destroyed through the API or when their grace time expired."})
	m.createFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gdn_container_create_failures_total", Help: "Creates that failed, by the stage that failed (tool and command, or server).",
	}, []string{"stage"})
	m.destroyFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gdn_container_destroy_failures_total", Help: "Destroys that failed (through the API or on grace time expiry), by the stage that failed.",
	}, []string{"stage"})
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gdn_build_info", Help: "Always 1; the labels say which build of gdn-server runs.",
		ConstLabels: prometheus.Labels{"version": version.String(), "revision": version.Revision(), "goversion": runtime.Version()},
	})
	build.Set(1)
	m.reg.MustRegister(m.toolRuns, m.toolFailures, m.creates, m.destroys, m.createFailures, m.destroyFailures, build)
	m.reg.MustRegister(m.requests, m.latency,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gdn_containers", Help: "Containers in the depot."}, count),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Observe records one request; Create and Destroy latencies are the
// create and destroy durations.
func (m *Metrics) Observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
	if status < 300 {
		switch route {
		case "Create":
			m.creates.Inc()
		case "Destroy":
			m.destroys.Inc()
		}
	}
}

// ObserveFailure records a failed create or destroy by the stage that
// failed it (Stage: "gdn-rootfs create", or "server" for the server's own
// refusals).
func (m *Metrics) ObserveFailure(route string, _ int, err error) {
	switch route {
	case "Create":
		m.createFailures.WithLabelValues(Stage(err)).Inc()
	case "Destroy":
		m.destroyFailures.WithLabelValues(Stage(err)).Inc()
	}
}

// ObserveReap records the destroy of a container whose grace time
// expired, as a destroy or a destroy failure.
func (m *Metrics) ObserveReap(err error) {
	if err != nil {
		m.destroyFailures.WithLabelValues(Stage(err)).Inc()
		return
	}
	m.destroys.Inc()
}

// ObserveTool records one run of a tool (gardener.Tool.Observe): its
// duration, and its failure with the error's kind.
func (m *Metrics) ObserveTool(tool, command string, d time.Duration, err error) {
	m.toolRuns.WithLabelValues(tool, command).Observe(d.Seconds())
	if err != nil {
		kind := string(errkind.Of(err))
		if kind == "" {
			kind = string(errkind.Internal)
		}
		m.toolFailures.WithLabelValues(tool, command, kind).Inc()
	}
}

// WatchContainers adds per-container metrics (memory, CPU, pids, disk,
// network, labelled by handle), gathered from src as cfg says.
func (m *Metrics) WatchContainers(src ContainerSource, cfg ContainerMetricsConfig) {
	m.reg.MustRegister(newContainerCollector(src, cfg))
}

// DebugHandler serves pprof, expvar (/debug/vars) and /metrics.
func DebugHandler(m *Metrics) http.Handler {
	expvar.Publish("numGoRoutines", expvar.Func(func() any { return runtime.NumGoroutine() }))
	expvar.Publish("numCPUS", expvar.Func(func() any { return runtime.NumCPU() }))
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/debug/vars", expvar.Handler())
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return mux
}
