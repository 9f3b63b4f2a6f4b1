package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
)

// startRun sends a Run of the fake's process on a new connection and
// returns the connection and its reader after the first message.
func startRun(t *testing.T, dial func() net.Conn) (net.Conn, *bufio.Reader, garden.ProcessPayload) {
	t.Helper()
	body := `{"path":"/bin/cat"}` + "\n"
	c := dial()
	fmt.Fprintf(c, "POST /containers/h1/processes HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 201 ") {
		t.Fatalf("run: %q %v", status, err)
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
	}
	return c, br, readPayload(t, br)
}

func readPayload(t *testing.T, br *bufio.Reader) garden.ProcessPayload {
	t.Helper()
	l, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("run connection: %q %v", l, err)
	}
	var m garden.ProcessPayload
	if err := json.Unmarshal([]byte(l), &m); err != nil {
		t.Fatalf("run message %q: %v", l, err)
	}
	return m
}

// streamBytes reads what the stdout or stderr connection of stream id
// sends, to its end.
func streamBytes(t *testing.T, dial func() net.Conn, id, name string) string {
	t.Helper()
	c := dial()
	fmt.Fprintf(c, "GET /containers/h1/processes/proc-1/attaches/%s/%s HTTP/1.1\r\nHost: api\r\n\r\n", id, name)
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%s of stream %s: %v", name, id, err)
	}
	_, raw, _ := strings.Cut(string(b), "\r\n\r\n")
	return raw
}

func (ss *streams) counts() (registered, lingering int, buffered int64) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.m), ss.lingering.Len(), ss.buffered.Load()
}

// A failing Run or Attach leaves no stream behind, and uses up no stream
// number (the reference numbers streams on success only).
func TestFailingRunAndAttachLeaveNoStream(t *testing.T) {
	f := newFake()
	f.proc = procScript{stderr: "e"}
	srv, dial := serveWith(t, f, Config{})
	for i := range 50 {
		resp := exchange(t, dial, fmt.Sprintf("GET /containers/h1/processes/nope-%d HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n", i))
		if !strings.HasPrefix(resp, "HTTP/1.1 404 ") {
			t.Fatalf("attach to an unknown process: %q", resp)
		}
		body := `{"path":"missing"}`
		resp = exchange(t, dial, fmt.Sprintf("POST /containers/h1/processes HTTP/1.1\r\nHost: api\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
		if !strings.HasPrefix(resp, "HTTP/1.1 500 ") || !strings.Contains(resp, "ExecutableNotFoundError") {
			t.Fatalf("run of a missing executable: %q", resp)
		}
	}
	if n, l, b := srv.streams.counts(); n != 0 || l != 0 || b != 0 {
		t.Fatalf("after 100 failing calls: %d streams, %d lingering, %d bytes buffered; want none", n, l, b)
	}
	_, _, first := startRun(t, dial)
	if first.StreamID != "1" {
		t.Fatalf("the first successful Run got stream %q, want 1", first.StreamID)
	}
}

// Output waits for stream connections that come after the process has
// exited, and a stream both of whose connections have drained it is
// forgotten at once.
func TestStreamOutputWaitsForLateConnections(t *testing.T) {
	f := newFake()
	f.proc = procScript{stdoutPrefix: "out:", stderr: "err-line", status: 3}
	srv, dial := serveWith(t, f, Config{})
	run, br, first := startRun(t, dial)
	for _, m := range []string{`{"source":0,"data":"hello"}`, `{"source":0}`, `{"signal":1}`} {
		fmt.Fprintln(run, m)
	}
	if m := readPayload(t, br); m.ExitStatus == nil || *m.ExitStatus != 3 {
		t.Fatalf("exit message %+v", m)
	}
	// The Run handler finishes the stream just after the exit message.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		n, l, _ := srv.streams.counts()
		if n == 1 && l == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the exit, before any stream connection: %d streams, %d lingering; want 1, 1", n, l)
		}
	}
	if got := streamBytes(t, dial, first.StreamID, "stdout"); got != "out:hello" {
		t.Errorf("late stdout: %q", got)
	}
	if got := streamBytes(t, dial, first.StreamID, "stderr"); got != "err-line" {
		t.Errorf("late stderr: %q", got)
	}
	if n, l, b := srv.streams.counts(); n != 0 || l != 0 || b != 0 {
		t.Fatalf("after both connections drained it: %d streams, %d lingering, %d bytes; want none", n, l, b)
	}
	if got := streamBytes(t, dial, first.StreamID, "stdout"); got != "" {
		t.Errorf("stdout of a forgotten stream: %q", got)
	}
}

// A stream connection whose stream is still live gets the output as it
// comes, and a second connection for the same direction gets nothing.
func TestOneReaderPerStreamDirection(t *testing.T) {
	f := newFake()
	f.proc = procScript{stdoutPrefix: ">", status: 0}
	_, dial := serveWith(t, f, Config{})
	run, br, first := startRun(t, dial)
	got := make(chan string, 1)
	c := dial()
	fmt.Fprintf(c, "GET /containers/h1/processes/proc-1/attaches/%s/stdout HTTP/1.1\r\nHost: api\r\n\r\n", first.StreamID)
	cr := bufio.NewReader(c)
	for {
		l, err := cr.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
	}
	go func() { b, _ := io.ReadAll(cr); got <- string(b) }()
	fmt.Fprintln(run, `{"source":0,"data":"a"}`)
	// The first connection is known to hold the pipe once it has
	// answered; a second one now is turned away.
	if second := streamBytes(t, dial, first.StreamID, "stdout"); second != "" {
		t.Errorf("a second stdout connection got %q", second)
	}
	fmt.Fprintln(run, `{"source":0,"data":"b"}`)
	fmt.Fprintln(run, `{"source":0}`)
	fmt.Fprintln(run, `{"signal":0}`)
	if m := readPayload(t, br); m.ExitStatus == nil {
		t.Fatalf("exit message %+v", m)
	}
	if s := <-got; s != ">a>b" {
		t.Errorf("stdout: %q", s)
	}
}

func TestStreamBufferBounds(t *testing.T) {
	t.Run("per pipe", func(t *testing.T) {
		ss := newStreams()
		s := ss.create()
		ss.register(s)
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for range streamBufferCap/len(chunk) + 10 {
			_, _ = s.stdout().Write(chunk)
		}
		if _, _, b := ss.counts(); b != streamBufferCap {
			t.Fatalf("buffered %d, want the cap %d", b, streamBufferCap)
		}
		if dropped := ss.finish(s); dropped != 10*len(chunk) {
			t.Fatalf("dropped %d, want %d", dropped, 10*len(chunk))
		}
		ss.forget(s)
		if _, _, b := ss.counts(); b != 0 {
			t.Fatalf("a forgotten stream still counts %d bytes", b)
		}
	})
	t.Run("in total", func(t *testing.T) {
		ss := newStreams()
		ss.budget = 10 << 10
		a, b := ss.create(), ss.create()
		ss.register(a)
		ss.register(b)
		_, _ = a.stdout().Write(make([]byte, 8<<10))
		_, _ = b.stderr().Write(make([]byte, 8<<10))
		if _, _, n := ss.counts(); n != 8<<10 {
			t.Fatalf("buffered %d, want only the first write", n)
		}
		chunks, _ := a.take(&a.out[0])
		if len(chunks) != 1 {
			t.Fatalf("took %d chunks", len(chunks))
		}
		_, _ = b.stderr().Write(make([]byte, 8<<10))
		if _, _, n := ss.counts(); n != 8<<10 {
			t.Fatalf("buffered %d after a read freed the budget, want the second stream's write", n)
		}
	})
	t.Run("lingering", func(t *testing.T) {
		ss := newStreams()
		var all []*stream
		for range maxLingering + 5 {
			s := ss.create()
			ss.register(s)
			_, _ = s.stdout().Write([]byte("z"))
			ss.finish(s)
			all = append(all, s)
		}
		n, l, b := ss.counts()
		if n != maxLingering || l != maxLingering || b != maxLingering {
			t.Fatalf("%d streams, %d lingering, %d bytes; want %d of each", n, l, b, maxLingering)
		}
		if st, _ := ss.reader(all[4].id, 0); st != nil {
			t.Fatal("an evicted stream can still be read")
		}
		if st, _ := ss.reader(all[5].id, 0); st == nil {
			t.Fatal("the oldest kept stream cannot be read")
		}
		for _, s := range all {
			ss.forget(s)
		}
	})
	t.Run("linger ends", func(t *testing.T) {
		ss := newStreams()
		ss.linger = 10 * time.Millisecond
		s := ss.create()
		ss.register(s)
		_, _ = s.stdout().Write([]byte("late"))
		ss.finish(s)
		deadline := time.Now().Add(10 * time.Second)
		for {
			n, l, b := ss.counts()
			if n == 0 && l == 0 && b == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the linger: %d streams, %d lingering, %d bytes", n, l, b)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// countingReader counts what is read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// jsonOfSize is a valid JSON object of exactly n bytes.
func jsonOfSize(n int) string {
	head, tail := `{"value":"`, `"}`
	return head + strings.Repeat("v", n-len(head)-len(tail)) + tail
}

func TestJSONBodyLimit(t *testing.T) {
	srv := New(newFake(), Config{})
	for _, tc := range []struct {
		size          int
		contentLength bool
		ok            bool
	}{
		{MaxJSONBody, false, true},
		{MaxJSONBody, true, true},
		{MaxJSONBody + 1, false, false},
		{MaxJSONBody + 1, true, false},
		{2 << 20, false, false},
	} {
		body := &countingReader{r: strings.NewReader(jsonOfSize(tc.size) + "\n")}
		req := httptest.NewRequest("PUT", "/containers/h1/properties/k", body)
		req.ContentLength = -1 // chunked: the size shows only by reading
		if tc.contentLength {
			req.ContentLength = int64(tc.size)
		}
		w := httptest.NewRecorder()
		var v garden.PropertyValue
		ok := srv.decode(w, req, &v)
		if ok != tc.ok {
			t.Fatalf("a %d-byte body (content length %v): decoded %v, want %v (%s)", tc.size, tc.contentLength, ok, tc.ok, w.Body)
		}
		if body.n > MaxJSONBody {
			t.Errorf("a %d-byte body: read %d bytes, more than the limit", tc.size, body.n)
		}
		if ok {
			continue
		}
		var e garden.Error
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != 500 || e.Type != "" ||
			e.Message != "request body exceeds 1048576 bytes: InvalidSpec" {
			t.Errorf("a %d-byte body: %d %s", tc.size, w.Code, w.Body)
		}
	}
}

// A JSON body that does not arrive in time is answered with an error
// (and the connection let go); a Run connection, once hijacked, has no
// deadline.
func TestTrickledJSONBodyTimesOut(t *testing.T) {
	f := newFake()
	f.proc = procScript{stdoutPrefix: "", status: 0}
	const d = 200 * time.Millisecond
	_, dial := serveWith(t, f, Config{BodyTimeout: d})
	c := dial()
	io.WriteString(c, "PUT /containers/h1/grace_time HTTP/1.1\r\nHost: api\r\nContent-Length: 12\r\n\r\n1")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 500 || !strings.Contains(string(b), "request body not received within 200ms") {
		t.Fatalf("stalled body: %s %s", resp.Status, b)
	}

	run, br, _ := startRun(t, dial)
	time.Sleep(3 * d) // past the body deadline the Run's decode set
	fmt.Fprintln(run, `{"source":0,"data":"still"}`)
	fmt.Fprintln(run, `{"source":0}`)
	fmt.Fprintln(run, `{"signal":0}`)
	if m := readPayload(t, br); m.ExitStatus == nil {
		t.Fatalf("run after the body deadline: %+v", m)
	}
}

// TestStreamWaitsForAReadingConnection: with a connection reading, a write
// that does not fit waits for room instead of being dropped, so every byte
// arrives; once the connection leaves, writes that do not fit are dropped
// again rather than waited for.
func TestStreamWaitsForAReadingConnection(t *testing.T) {
	ss := newStreams()
	s := ss.create()
	id := ss.register(s)
	st, p := ss.reader(id, 0)
	if st == nil {
		t.Fatal("no reader")
	}
	chunk := bytes.Repeat([]byte("y"), 64<<10)
	const writes = 4 * streamBufferCap / (64 << 10) // four times the cap
	got := make(chan int)
	go func() {
		n := 0
		for {
			chunks, done := s.take(p)
			if done {
				got <- n
				return
			}
			for _, c := range chunks {
				n += len(c)
			}
			time.Sleep(time.Millisecond) // a reader slower than the writer
		}
	}()
	for range writes {
		_, _ = s.stdout().Write(chunk)
	}
	if dropped := ss.finish(s); dropped != 0 {
		t.Errorf("dropped %d bytes with a connection reading", dropped)
	}
	if n := <-got; n != writes*len(chunk) {
		t.Errorf("the reader got %d bytes, want %d", n, writes*len(chunk))
	}

	// The connection leaves: a full pipe drops at once.
	s2 := ss.create()
	id2 := ss.register(s2)
	_, p2 := ss.reader(id2, 0)
	p2.leave()
	start := time.Now()
	for range writes {
		_, _ = s2.stdout().Write(chunk)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("writes waited %v for a connection that left", time.Since(start))
	}
	if dropped := ss.finish(s2); dropped != (writes-streamBufferCap/len(chunk))*len(chunk) {
		t.Errorf("dropped %d after the connection left, want all past the cap", dropped)
	}
	ss.forget(s2)
}
