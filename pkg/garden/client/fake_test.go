package client_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gdn-dev/gdn/pkg/garden/client"
)

// request is what the fake server saw of one request.
type request struct {
	Method string
	URI    string // as sent: escaped path and query
	Header http.Header
	Body   string
}

// headers lists the header names and values, sorted, for comparing with
// what the reference client sends.
func (r request) headers() string {
	var lines []string
	for k, vs := range r.Header {
		for _, v := range vs {
			lines = append(lines, k+": "+v)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// handler answers one connection after its request was read; br holds
// whatever the client sent after the request.
type handler func(req request, nc net.Conn, br *bufio.Reader)

// fake is a Garden server on a unix socket that speaks raw bytes, so the
// test controls every byte the client receives.
type fake struct {
	mu   sync.Mutex
	reqs []request
	wg   sync.WaitGroup
}

// newFake serves h on a new socket and returns a client of it.
func newFake(t *testing.T, h handler) (*fake, client.Client) {
	t.Helper()
	// Not t.TempDir: test names make paths too long for a unix socket.
	dir, err := os.MkdirTemp("", "gdnc")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer nc.Close()
				f.serve(t, nc, h)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		f.wg.Wait()
		os.RemoveAll(dir)
	})
	return f, client.New("unix", sock)
}

func (f *fake) serve(t *testing.T, nc net.Conn, h handler) {
	br := bufio.NewReader(nc)
	req, err := http.ReadRequest(br)
	if err != nil {
		t.Errorf("fake: reading request: %v", err)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Errorf("fake: reading body: %v", err)
		return
	}
	if req.Host != "api" {
		t.Errorf("fake: Host = %q, want api", req.Host)
	}
	r := request{Method: req.Method, URI: req.RequestURI, Header: req.Header, Body: string(body)}
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()
	h(r, nc, br)
}

func (f *fake) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// reply writes a complete response as the reference server does for
// ordinary calls. An empty contentType sends none.
func reply(nc net.Conn, status int, contentType, body string) {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	if contentType != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", contentType)
	}
	fmt.Fprintf(&b, "Date: Sun, 29 Nov 2026 08:02:50 GMT\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	io.WriteString(nc, b.String())
}

// replyJSON replies with a JSON body plus the encoder's newline.
func replyJSON(status int, body string) handler {
	return func(_ request, nc net.Conn, _ *bufio.Reader) {
		reply(nc, status, "application/json", body+"\n")
	}
}

// hijackHead is the header block of a Run (201) or Attach/stream (200)
// answer. It says chunked, but what follows is raw.
func hijackHead(status int, contentType bool) string {
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	if contentType {
		head += "Content-Type: application/json\r\n"
	}
	return head + "Date: Sun, 29 Nov 2026 08:02:50 GMT\r\nTransfer-Encoding: chunked\r\n\r\n"
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
