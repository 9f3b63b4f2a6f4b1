package server_test

// What any API caller can make the server hold: stream buffers, request
// bodies, slow connections. Each test runs a real gdn-server.

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/client"
)

// rss is the server's resident set size in bytes.
func (g *gdn) rss() int64 {
	g.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		g.t.Fatal(err)
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				g.t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	g.t.Fatal("no VmRSS in /proc/pid/status")
	return 0
}

// heap is the server's live heap (HeapAlloc, from /debug/vars) and the
// heap memory it holds from the OS (HeapSys).
func heap(t *testing.T, debugAddr string) (alloc, sys int64) {
	t.Helper()
	resp, err := http.Get("http://" + debugAddr + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Memstats struct{ HeapAlloc, HeapSys int64 } `json:"memstats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Memstats.HeapAlloc, v.Memstats.HeapSys
}

// freePort is a loopback TCP port nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// failingAttachesBound is how much 10,000 failing Attach calls may grow
// the server's heap: transient garbage only (before the fix each call kept
// 192 KiB of stream buffers for a minute, about 1.9 GiB in all; RSS grows
// later than the heap, as the untouched pages of new buffers are reused).
const failingAttachesBound = 64 << 20

func TestFailingAttachesKeepNoMemory(t *testing.T) {
	port := freePort(t)
	g := startGdn(t, "--debug-bind-ip", "127.0.0.1", "--debug-bind-port", port)
	debug := "127.0.0.1:" + port
	c := g.create(garden.ContainerSpec{Handle: "mem1"})
	// Warm up the server's own pools before the baseline.
	for i := range 200 {
		_, _ = c.Attach(fmt.Sprintf("warm-%d", i), client.ProcessIO{})
	}
	heapBefore, sysBefore := heap(t, debug)
	rssBefore := g.rss()
	const calls, workers = 10000, 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var unexpected []error
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < calls; i += workers {
				_, err := c.Attach(fmt.Sprintf("nope-%d", i), client.ProcessIO{})
				if !errors.As(err, new(garden.ProcessNotFoundError)) {
					mu.Lock()
					unexpected = append(unexpected, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("%d attaches did not fail with ProcessNotFoundError, first: %v", len(unexpected), unexpected[0])
	}
	heapAfter, sysAfter := heap(t, debug)
	rssAfter := g.rss()
	t.Logf("%d failing Attach calls: heap alloc %d -> %d MiB, heap sys %d -> %d MiB, RSS %d -> %d MiB", calls,
		heapBefore>>20, heapAfter>>20, sysBefore>>20, sysAfter>>20, rssBefore>>20, rssAfter>>20)
	if heapAfter-heapBefore > failingAttachesBound || rssAfter-rssBefore > failingAttachesBound {
		t.Fatalf("%d failing Attach calls grew the server's heap by %d MiB and RSS by %d MiB (bound %d MiB)",
			calls, (heapAfter-heapBefore)>>20, (rssAfter-rssBefore)>>20, failingAttachesBound>>20)
	}
	// Real attaches still work after all that.
	if status, out, _ := run(t, c, "", "/bin/echo", "still here"); status != 0 || out != "still here\n" {
		t.Fatalf("run after the failing attaches: %d %q", status, out)
	}
}

// rawPost sends a POST with a body of n bytes (made by body, which writes
// it) on its own connection and returns the response; the body is written
// in the background, since the server may answer before reading it all.
func (g *gdn) rawPost(path string, n int64, body func(w io.Writer) error) (*http.Response, []byte) {
	g.t.Helper()
	conn, err := net.Dial("unix", g.sock)
	if err != nil {
		g.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	go func() {
		bw := bufio.NewWriterSize(conn, 64<<10)
		fmt.Fprintf(bw, "POST %s HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", path, n)
		if body(bw) == nil {
			_ = bw.Flush()
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		g.t.Fatalf("POST %s with a %d-byte body: %v", path, n, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		g.t.Fatalf("POST %s: reading the response: %v", path, err)
	}
	return resp, b
}

// bigSpec writes a valid ContainerSpec of exactly n bytes (one large
// property), so only its size can be wrong with it.
func bigSpec(handle string, n int64) func(io.Writer) error {
	head := fmt.Sprintf(`{"handle":%q,"properties":{"big":"`, handle)
	tail := `"}}`
	return func(w io.Writer) error {
		if _, err := io.WriteString(w, head); err != nil {
			return err
		}
		chunk := strings.Repeat("x", 64<<10)
		for left := n - int64(len(head)+len(tail)); left > 0; {
			k := min(left, int64(len(chunk)))
			if _, err := io.WriteString(w, chunk[:k]); err != nil {
				return err
			}
			left -= k
		}
		_, err := io.WriteString(w, tail)
		return err
	}
}

func TestOversizedJSONBodiesAreRefused(t *testing.T) {
	g := startGdn(t)
	// Within the limit: accepted.
	resp, b := g.rawPost("/containers", 512<<10, bigSpec("fits", 512<<10))
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"fits"`) {
		t.Fatalf("a 512 KiB create: %s %s", resp.Status, b)
	}
	for _, size := range []int64{2 << 20, 100 << 20} {
		h := fmt.Sprintf("big%d", size>>20)
		resp, b := g.rawPost("/containers", size, bigSpec(h, size))
		var e garden.Error
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("a %d MiB create: %s %q: %v", size>>20, resp.Status, b, err)
		}
		if resp.StatusCode != 500 || e.Type != "" || !strings.Contains(e.Message, "request body exceeds 1048576 bytes") {
			t.Fatalf("a %d MiB create: %s %+v, want 500 naming the 1 MiB limit", size>>20, resp.Status, e)
		}
		t.Logf("%d MiB create body: %s %s; server RSS %d MiB", size>>20, resp.Status, strings.TrimSpace(string(b)), g.rss()>>20)
	}
	if rss := g.rss(); rss > 100<<20 {
		t.Errorf("server RSS %d MiB after the refused bodies", rss>>20)
	}
	list, err := g.client.Containers(garden.Properties{"garden.state": "all"})
	if err != nil || len(list) != 1 || list[0].Handle() != "fits" {
		t.Fatalf("containers after the refused creates: %v %v (want only fits)", list, err)
	}
}

// A client that trickles its request header is cut off by the server
// (--read-header-timeout), rather than holding a connection for ever.
func TestTrickledHeaderIsCutOff(t *testing.T) {
	g := startGdn(t, "--read-header-timeout", "1s")
	conn, err := net.Dial("unix", g.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Not a timing bound: only so that a server that never closes fails
	// the test instead of hanging it.
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
	closed := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(conn)
		closed <- err
	}()
	header := "GET /ping HTTP/1.1\r\nHost: api\r\nX-Slow: " + strings.Repeat("a", 100)
	for i := 0; ; i++ {
		select {
		case err := <-closed:
			// The server closes with trickled bytes unread: EOF or a reset.
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("the server did not close the trickled connection: %v", err)
			}
			if err := g.client.Ping(); err != nil {
				t.Fatalf("ping after the trickled connection: %v", err)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
		if _, err := conn.Write([]byte{header[i%len(header)]}); err != nil {
			return // closed by the server
		}
	}
}

// The JSON body limit is not a limit on streams: stream-in takes a tar
// of any size, and a process's output well over the limit arrives whole.
func TestStreamsAreNotLimited(t *testing.T) {
	g := startGdn(t)
	c := g.create(garden.ContainerSpec{Handle: "st1"})
	const size = 3 << 20
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		_ = tw.WriteHeader(&tar.Header{Name: "big", Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
		_, _ = io.Copy(tw, io.LimitReader(zeros{}, size))
		pw.CloseWithError(tw.Close())
	}()
	if err := c.StreamIn(client.StreamInSpec{Path: "/tmp", User: "root", TarStream: pr}); err != nil {
		t.Fatalf("stream in of a 3 MiB file: %v", err)
	}
	if status, out, errout := run(t, c, "", "/bin/sh", "-c", "wc -c </tmp/big"); status != 0 || strings.TrimSpace(out) != strconv.Itoa(size) {
		t.Fatalf("streamed-in file: %d %q %q", status, out, errout)
	}
	status, out, _ := run(t, c, "", "/bin/sh", "-c", fmt.Sprintf("head -c %d /dev/zero", size))
	if status != 0 || len(out) != size {
		t.Fatalf("a %d-byte output: status %d, %d bytes arrived", size, status, len(out))
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
