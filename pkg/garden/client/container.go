package client

import (
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
)

// Container is one container on the server. Every call is a request; the
// object holds only the handle.
type Container interface {
	Handle() string
	// Stop signals every process but the container's init: SIGTERM then,
	// after about 10 s, SIGKILL; with kill, SIGKILL at once. The container
	// is not destroyed.
	Stop(kill bool) error
	Info() (garden.ContainerInfo, error)
	// StreamIn unpacks a tar stream into the container.
	StreamIn(StreamInSpec) error
	// StreamOut returns a tar stream of a path in the container; the
	// caller closes it.
	StreamOut(StreamOutSpec) (io.ReadCloser, error)
	CurrentBandwidthLimits() (garden.BandwidthLimits, error)
	CurrentCPULimits() (garden.CPULimits, error)
	CurrentDiskLimits() (garden.DiskLimits, error)
	CurrentMemoryLimits() (garden.MemoryLimits, error)
	// NetIn maps a host port to a container port (0 host port: one from
	// the pool; 0 container port: the host port) and returns both.
	NetIn(hostPort, containerPort uint32) (uint32, uint32, error)
	NetOut(garden.NetOutRule) error
	BulkNetOut([]garden.NetOutRule) error
	// Run starts a process; see Process for how its output arrives.
	Run(garden.ProcessSpec, ProcessIO) (Process, error)
	// Attach connects to a running (or exited, not yet cleaned-up)
	// process. Output from before the attach is not replayed.
	Attach(processID string, io ProcessIO) (Process, error)
	Metrics() (garden.Metrics, error)
	// SetGraceTime replaces the idle time after which the container is
	// destroyed, and restarts the countdown.
	SetGraceTime(time.Duration) error
	Properties() (garden.Properties, error)
	Property(name string) (string, error)
	SetProperty(name, value string) error
	RemoveProperty(name string) error
}

// StreamInSpec says where to unpack a tar stream, and as whom.
type StreamInSpec struct {
	// Path is the destination directory in the container.
	Path string
	// User defaults to root on the server.
	User string
	// TarStream is the tar archive; it is read to its end.
	TarStream io.Reader
}

// StreamOutSpec says which path to stream out, and as whom. A path ending
// in "/" streams the directory's contents; otherwise the archive holds
// one entry named after the last path component.
type StreamOutSpec struct {
	Path string
	User string
}

// ProcessIO wires a process to the caller. Nil fields are not connected:
// no stdin message is sent, and no stdout or stderr stream is opened.
type ProcessIO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// container implements Container.
type container struct {
	handle string
	conn   *conn
}

func (c *container) Handle() string { return c.handle }

func (c *container) path(rest ...string) string { return containerPath(c.handle, rest...) }

func (c *container) Stop(kill bool) error {
	return c.conn.do(http.MethodPut, c.path("stop"), nil, garden.StopRequest{Kill: kill}, nil)
}

func (c *container) Info() (garden.ContainerInfo, error) {
	var info garden.ContainerInfo
	err := c.conn.do(http.MethodGet, c.path("info"), nil, nil, &info)
	return info, err
}

func (c *container) StreamIn(spec StreamInSpec) error {
	query := url.Values{"destination": {spec.Path}, "user": {spec.User}}
	resp, err := c.conn.roundTrip(http.MethodPut, c.path("files"), query, spec.TarStream, "application/x-tar")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func (c *container) StreamOut(spec StreamOutSpec) (io.ReadCloser, error) {
	query := url.Values{"source": {spec.Path}, "user": {spec.User}}
	resp, err := c.conn.roundTrip(http.MethodGet, c.path("files"), query, nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func (c *container) CurrentBandwidthLimits() (garden.BandwidthLimits, error) {
	var l garden.BandwidthLimits
	err := c.conn.do(http.MethodGet, c.path("limits", "bandwidth"), nil, nil, &l)
	return l, err
}

func (c *container) CurrentCPULimits() (garden.CPULimits, error) {
	var l garden.CPULimits
	err := c.conn.do(http.MethodGet, c.path("limits", "cpu"), nil, nil, &l)
	return l, err
}

func (c *container) CurrentDiskLimits() (garden.DiskLimits, error) {
	var l garden.DiskLimits
	err := c.conn.do(http.MethodGet, c.path("limits", "disk"), nil, nil, &l)
	return l, err
}

func (c *container) CurrentMemoryLimits() (garden.MemoryLimits, error) {
	var l garden.MemoryLimits
	err := c.conn.do(http.MethodGet, c.path("limits", "memory"), nil, nil, &l)
	return l, err
}

func (c *container) NetIn(hostPort, containerPort uint32) (uint32, uint32, error) {
	req := garden.NetInRequest{Handle: c.handle, HostPort: hostPort, ContainerPort: containerPort}
	var resp garden.NetInResponse
	if err := c.conn.do(http.MethodPost, c.path("net", "in"), nil, req, &resp); err != nil {
		return 0, 0, err
	}
	return resp.HostPort, resp.ContainerPort, nil
}

func (c *container) NetOut(rule garden.NetOutRule) error {
	return c.conn.do(http.MethodPost, c.path("net", "out"), nil, rule, nil)
}

func (c *container) BulkNetOut(rules []garden.NetOutRule) error {
	if rules == nil {
		rules = []garden.NetOutRule{} // an array, never null
	}
	return c.conn.do(http.MethodPost, c.path("net", "out", "bulk"), nil, rules, nil)
}

func (c *container) Metrics() (garden.Metrics, error) {
	var m garden.Metrics
	err := c.conn.do(http.MethodGet, c.path("metrics"), nil, nil, &m)
	return m, err
}

func (c *container) SetGraceTime(d time.Duration) error {
	// The body is the bare integer of nanoseconds.
	return c.conn.do(http.MethodPut, c.path("grace_time"), nil, d, nil)
}

func (c *container) Properties() (garden.Properties, error) {
	var props garden.Properties
	err := c.conn.do(http.MethodGet, c.path("properties"), nil, nil, &props)
	return props, err
}

func (c *container) Property(name string) (string, error) {
	var v garden.PropertyValue
	err := c.conn.do(http.MethodGet, c.path("properties", name), nil, nil, &v)
	return v.Value, err
}

func (c *container) SetProperty(name, value string) error {
	return c.conn.do(http.MethodPut, c.path("properties", name), nil, garden.PropertyValue{Value: value}, nil)
}

func (c *container) RemoveProperty(name string) error {
	return c.conn.do(http.MethodDelete, c.path("properties", name), nil, nil, nil)
}

func (c *container) Run(spec garden.ProcessSpec, pio ProcessIO) (Process, error) {
	body, ct, err := jsonBody(spec)
	if err != nil {
		return nil, err
	}
	return c.conn.startProcess(http.MethodPost, c.path("processes"), body, ct, c.handle, pio)
}

func (c *container) Attach(processID string, pio ProcessIO) (Process, error) {
	return c.conn.startProcess(http.MethodGet, c.path("processes", processID), nil, "", c.handle, pio)
}
