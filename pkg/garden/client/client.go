// Package client is a Go client of the Garden API, written from the spec
// (garden-api.md) with the reference client's method set and wire
// behaviour: a new connection per call, the URL host "api", keep-alives
// off for ordinary calls, and Run/Attach taking over their connection for
// newline-delimited JSON messages.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
)

// dialTimeout bounds connecting to the server, as the reference client does.
const dialTimeout = 2 * time.Second

// Client talks to one Garden server.
type Client interface {
	// Ping fails if the server cannot serve (UnrecoverableError when it is
	// permanently broken).
	Ping() error
	// Capacity reports what the server can hold.
	Capacity() (garden.Capacity, error)
	// Create makes a container and returns it under the handle the server
	// chose or accepted.
	Create(garden.ContainerSpec) (Container, error)
	// Destroy removes a container and everything in it.
	Destroy(handle string) error
	// Containers lists the containers whose properties match every given
	// pair; nil lists what the server lists unfiltered.
	Containers(garden.Properties) ([]Container, error)
	// BulkInfo returns the info of each handle; a failure for one handle
	// is its entry's Err, not an error of the call.
	BulkInfo(handles []string) (map[string]garden.ContainerInfoEntry, error)
	// BulkMetrics is BulkInfo for metrics.
	BulkMetrics(handles []string) (map[string]garden.ContainerMetricsEntry, error)
	// Lookup finds a container by listing all of them (there is no lookup
	// route); a missing handle is garden.ContainerNotFoundError.
	Lookup(handle string) (Container, error)
}

// New returns a client of the server listening on network ("unix" or
// "tcp") at address (a socket path, or host:port). It does not connect.
func New(network, address string) Client {
	c := &conn{network: network, address: address}
	c.http = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return c.dial(ctx)
		},
		// One connection per call, like the reference client: requests
		// then carry Connection: close.
		DisableKeepAlives: true,
	}}
	return &client{conn: c}
}

// conn knows how to reach the server and speak HTTP to it.
type conn struct {
	network, address string
	http             *http.Client
}

func (c *conn) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	return d.DialContext(ctx, c.network, c.address)
}

// segment escapes one path segment. The server unescapes path parameters
// with query rules, so '+' must travel as %2B or it would become a space;
// url.PathEscape leaves '+' alone.
func segment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "+", "%2B")
}

// containerPath is /containers/<handle> followed by more path segments,
// each escaped.
func containerPath(handle string, rest ...string) string {
	var b strings.Builder
	b.WriteString("/containers/")
	b.WriteString(segment(handle))
	for _, r := range rest {
		b.WriteString("/")
		b.WriteString(segment(r))
	}
	return b.String()
}

// newRequest builds a request for path (already escaped) and query on the
// host "api"; a non-empty contentType is set as Content-Type.
func newRequest(method, path string, query url.Values, body io.Reader, contentType string) (*http.Request, error) {
	u := "http://api" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// jsonBody encodes v as the reference client does: compact JSON and a
// newline. A nil v is no body.
func jsonBody(v any) (io.Reader, string, error) {
	if v == nil {
		return nil, "", nil
	}
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		return nil, "", err
	}
	return &b, "application/json", nil
}

// roundTrip sends an ordinary request and returns the response of a 2xx
// status; any other status becomes the error its body describes.
func (c *conn) roundTrip(method, path string, query url.Values, body io.Reader, contentType string) (*http.Response, error) {
	req, err := newRequest(method, path, query, body, contentType)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, responseError(resp)
	}
	return resp, nil
}

// do sends in (nil for no body) as JSON and decodes the 2xx response into
// out (nil to discard it).
func (c *conn) do(method, path string, query url.Values, in, out any) error {
	body, ct, err := jsonBody(in)
	if err != nil {
		return err
	}
	resp, err := c.roundTrip(method, path, query, body, ct)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("bad response: decoding %s %s: %w", method, path, err)
	}
	return nil
}

// maxErrorBody bounds how much of a failed response is read.
const maxErrorBody = 1 << 20

// responseError turns a non-2xx response into the error its Garden error
// body describes. A body that is not one (a router's text/plain 404 or
// 405, say) is a "bad response" error quoting the status and body.
func responseError(resp *http.Response) error {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return fmt.Errorf("bad response: %s: reading body: %w", resp.Status, err)
	}
	var body garden.Error
	if json.Unmarshal(raw, &body) != nil || body == (garden.Error{}) {
		return fmt.Errorf("bad response: %s: %q", resp.Status, bytes.TrimSpace(raw))
	}
	return garden.FromBody(body)
}

// client implements Client.
type client struct{ conn *conn }

func (c *client) Ping() error {
	return c.conn.do(http.MethodGet, "/ping", nil, nil, nil)
}

func (c *client) Capacity() (garden.Capacity, error) {
	var capacity garden.Capacity
	err := c.conn.do(http.MethodGet, "/capacity", nil, nil, &capacity)
	return capacity, err
}

func (c *client) Create(spec garden.ContainerSpec) (Container, error) {
	var resp garden.CreateResponse
	if err := c.conn.do(http.MethodPost, "/containers", nil, spec, &resp); err != nil {
		return nil, err
	}
	return &container{handle: resp.Handle, conn: c.conn}, nil
}

func (c *client) Destroy(handle string) error {
	return c.conn.do(http.MethodDelete, containerPath(handle), nil, nil, nil)
}

func (c *client) list(props garden.Properties) ([]string, error) {
	query := url.Values{}
	for k, v := range props {
		query.Set(k, v)
	}
	var resp garden.ListResponse
	err := c.conn.do(http.MethodGet, "/containers", query, nil, &resp)
	return resp.Handles, err
}

func (c *client) Containers(props garden.Properties) ([]Container, error) {
	handles, err := c.list(props)
	if err != nil {
		return nil, err
	}
	containers := make([]Container, 0, len(handles))
	for _, h := range handles {
		containers = append(containers, &container{handle: h, conn: c.conn})
	}
	return containers, nil
}

func (c *client) Lookup(handle string) (Container, error) {
	handles, err := c.list(nil)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(handles, handle) {
		return nil, garden.ContainerNotFoundError{Handle: handle}
	}
	return &container{handle: handle, conn: c.conn}, nil
}

// bulkQuery is handles=h1,h2 (the comma escaped). The parameter is sent
// even when empty: the reference server fails without it.
func bulkQuery(handles []string) url.Values {
	return url.Values{"handles": {strings.Join(handles, ",")}}
}

func (c *client) BulkInfo(handles []string) (map[string]garden.ContainerInfoEntry, error) {
	var resp map[string]garden.ContainerInfoEntry
	err := c.conn.do(http.MethodGet, "/containers/bulk_info", bulkQuery(handles), nil, &resp)
	return resp, err
}

func (c *client) BulkMetrics(handles []string) (map[string]garden.ContainerMetricsEntry, error) {
	var resp map[string]garden.ContainerMetricsEntry
	err := c.conn.do(http.MethodGet, "/containers/bulk_metrics", bulkQuery(handles), nil, &resp)
	return resp, err
}
