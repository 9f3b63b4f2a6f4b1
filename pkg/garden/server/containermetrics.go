package server

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/gardener"
	"github.com/prometheus/client_golang/prometheus"
)

// ContainerSource is what the per-container metrics ask of the backend:
// the handles, and one container's usage.
type ContainerSource interface {
	List(ctx context.Context, filter garden.Properties) ([]string, error)
	Metrics(ctx context.Context, h string) (garden.Metrics, error)
}

// ContainerMetricsConfig says how per-container metrics are gathered.
type ContainerMetricsConfig struct {
	// MaxAge is how old the gathered values may be before a scrape asks
	// for fresh ones (0: DefaultMetricsMaxAge).
	MaxAge time.Duration
	// Workers is how many containers are asked about at once (0: the
	// number of CPUs: each answer is a few tool runs, mostly CPU).
	Workers int
	// Timeout bounds one gathering of every container (0: a minute).
	Timeout time.Duration
}

// DefaultMetricsMaxAge is a few seconds: well under a usual scrape
// interval (15 s), so a scraper sees values at most one interval old,
// while several scrapers (or a scraper and a person) share one gathering.
const DefaultMetricsMaxAge = 5 * time.Second

// snapshot is one gathering of every container's metrics.
type snapshot struct {
	at      time.Time
	took    time.Duration
	metrics map[string]garden.Metrics
	failed  int
}

// containerCollector serves per-container metrics from the last gathering
// and gathers afresh when it is older than MaxAge. Only the very first
// scrape waits for a gathering; later ones are answered at once from the
// last one while a new one runs in the background (never two at a time),
// so a scrape costs milliseconds however many containers there are, and
// the tool runs a gathering costs happen at most once per scrape.
type containerCollector struct {
	src ContainerSource
	cfg ContainerMetricsConfig

	mu      sync.Mutex
	last    *snapshot
	running chan struct{} // closed when the gathering in flight ends; nil if none
}

var (
	labelHandle  = []string{"handle"}
	descMemUsage = prometheus.NewDesc("gdn_container_memory_usage_bytes",
		"Memory counted against the container's limit (v1: rss+cache+swap-inactive_file).", labelHandle, nil)
	descMemLimit = prometheus.NewDesc("gdn_container_memory_limit_bytes",
		"The container's memory limit (0: none).", labelHandle, nil)
	descCPU = prometheus.NewDesc("gdn_container_cpu_usage_seconds_total",
		"CPU time the container's processes used.", labelHandle, nil)
	descPids = prometheus.NewDesc("gdn_container_pids",
		"Processes and threads in the container.", labelHandle, nil)
	descPidsLimit = prometheus.NewDesc("gdn_container_pids_limit",
		"The container's pid limit (0: none).", labelHandle, nil)
	descDisk = prometheus.NewDesc("gdn_container_disk_usage_bytes",
		"Disk the container's rootfs uses, image layers included.", labelHandle, nil)
	descDiskExcl = prometheus.NewDesc("gdn_container_disk_exclusive_bytes",
		"Disk the container's rootfs uses beyond its image.", labelHandle, nil)
	descRx = prometheus.NewDesc("gdn_container_network_receive_bytes_total",
		"Bytes the container received (with --enable-container-network-metrics).", labelHandle, nil)
	descTx = prometheus.NewDesc("gdn_container_network_transmit_bytes_total",
		"Bytes the container sent (with --enable-container-network-metrics).", labelHandle, nil)
	descAge = prometheus.NewDesc("gdn_container_metrics_age_seconds",
		"How old the per-container values of this scrape are.", nil, nil)
	descTook = prometheus.NewDesc("gdn_container_metrics_gather_duration_seconds",
		"How long the last gathering of every container's metrics took.", nil, nil)
	descFailed = prometheus.NewDesc("gdn_container_metrics_gather_failures",
		"Containers the last gathering could not ask about (gone meanwhile, or a tool failed), or 1 when it could not list them.", nil, nil)
)

func newContainerCollector(src ContainerSource, cfg ContainerMetricsConfig) *containerCollector {
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMetricsMaxAge
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	return &containerCollector{src: src, cfg: cfg}
}

// Describe implements prometheus.Collector.
func (c *containerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMemUsage, descMemLimit, descCPU, descPids, descPidsLimit,
		descDisk, descDiskExcl, descRx, descTx, descAge, descTook, descFailed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *containerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	if s == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	for h, m := range s.metrics {
		gauge(descMemUsage, float64(m.MemoryStat.TotalUsageTowardLimit), h)
		gauge(descMemLimit, float64(memoryLimit(m.MemoryStat.HierarchicalMemoryLimit)), h)
		counter(descCPU, float64(m.CPUStat.Usage)/1e9, h)
		gauge(descPids, float64(m.PidStat.Current), h)
		gauge(descPidsLimit, float64(m.PidStat.Max), h)
		gauge(descDisk, float64(m.DiskStat.TotalBytesUsed), h)
		gauge(descDiskExcl, float64(m.DiskStat.ExclusiveBytesUsed), h)
		if n := m.NetworkStat; n != nil {
			counter(descRx, float64(n.RxBytes), h)
			counter(descTx, float64(n.TxBytes), h)
		}
	}
	gauge(descAge, time.Since(s.at).Seconds())
	gauge(descTook, s.took.Seconds())
	gauge(descFailed, float64(s.failed))
}

// unlimited is the smallest value the kernel reports for "no memory
// limit" (v1 reports the page-rounded maximum, about 2^63).
const unlimited = 1 << 62

func memoryLimit(v uint64) uint64 {
	if v >= unlimited {
		return 0
	}
	return v
}

// snapshot returns the last gathering, starting a new one when it is
// stale; only when there is none yet does it wait for one.
func (c *containerCollector) snapshot() *snapshot {
	c.mu.Lock()
	last := c.last
	if last != nil && time.Since(last.at) < c.cfg.MaxAge {
		c.mu.Unlock()
		return last
	}
	running := c.running
	if running == nil {
		running = make(chan struct{})
		c.running = running
		go c.gather(running)
	}
	c.mu.Unlock()
	if last != nil {
		return last
	}
	<-running
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// gather asks about every container, Workers at a time, and stores the
// result.
func (c *containerCollector) gather(done chan struct{}) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	s := &snapshot{metrics: map[string]garden.Metrics{}}
	handles, err := c.src.List(ctx, garden.Properties{gardener.PropState: "all"})
	if err != nil {
		s.failed = 1 // the listing itself
	}
	type answer struct {
		m   garden.Metrics
		err error
	}
	answers := bulk(handles, c.cfg.Workers, func(h string) answer {
		m, err := c.src.Metrics(ctx, h)
		return answer{m, err}
	})
	for h, a := range answers {
		if a.err != nil {
			s.failed++
			continue
		}
		s.metrics[h] = a.m
	}
	s.at, s.took = time.Now(), time.Since(start)
	c.mu.Lock()
	c.last, c.running = s, nil
	c.mu.Unlock()
	close(done)
}
