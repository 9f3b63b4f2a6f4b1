package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/client"
	"github.com/gdn-dev/gdn/pkg/gardener"
)

// bodyTypes are the request bodies the server decodes, by route.
var bodyTypes = []func() any{
	func() any { return new(garden.ContainerSpec) }, // Create
	func() any { return new(garden.ProcessSpec) },   // Run
	func() any { return new(garden.NetOutRule) },    // NetOut
	func() any { return new([]garden.NetOutRule) },  // BulkNetOut
	func() any { return new(garden.NetInRequest) },  // NetIn
	func() any { return new(time.Duration) },        // SetGraceTime
	func() any { return new(garden.PropertyValue) }, // SetProperty
}

// FuzzDecodeBody: the server's body decoding never panics, accepts
// exactly what one JSON decode of the body accepts, with the same value,
// and answers anything else with a 500 and a Garden error body.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		`{"handle":"h1","limits":{"memory_limits":{"limit_in_bytes":9}},"netout_rules":[{"protocol":1}]}`,
		`{"path":"/bin/sh","args":["-c","true"],"tty":{"window_size":{"columns":1}}}`,
		`{"protocol":1,"networks":[{"start":"10.0.0.1","end":"10.0.0.2"}]}`,
		`[{"protocol":2},{}]`,
		`{"host_port":1,"container_port":2}`,
		`300000000000`,
		`{"value":"v"}`,
		``, `null`, `{`, `{"handle":1}`, `[1,2`, `{} trailing`, `"\ud800"`, `1e400`, `-1`,
	} {
		for k := range bodyTypes {
			f.Add(uint8(k), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		newV := bodyTypes[int(kind)%len(bodyTypes)]
		got, want := newV(), newV()
		wantErr := json.NewDecoder(bytes.NewReader(body)).Decode(want)
		rec := httptest.NewRecorder()
		ok := (&Server{}).decode(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)), got)
		if ok != (wantErr == nil) {
			t.Fatalf("decode(%q) = %v, but a JSON decode gives %v", body, ok, wantErr)
		}
		if ok {
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decode(%q) = %+v, want %+v", body, got, want)
			}
			if rec.Body.Len() != 0 {
				t.Fatalf("decode(%q) succeeded but wrote %q", body, rec.Body)
			}
			return
		}
		var e garden.Error
		if rec.Code != http.StatusInternalServerError || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Message == "" {
			t.Fatalf("decode(%q) failed with %d %q, want a 500 Garden error", body, rec.Code, rec.Body)
		}
	})
}

// msgProc is a Process that records what readInput asks of it.
type msgProc struct {
	mu      sync.Mutex
	ops     []string
	closed  int
	stdin   chan struct{} // closed at CloseStdin
	sawStop chan struct{} // closed at the stop signal
	failOn  string        // WriteStdin of this data fails
}

// stopSignal tells the fuzzed Run's process to exit.
const stopSignal garden.Signal = -77

func newMsgProc() *msgProc {
	return &msgProc{stdin: make(chan struct{}), sawStop: make(chan struct{})}
}

func (p *msgProc) ID() string { return "p1" }

func (p *msgProc) op(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ops = append(p.ops, fmt.Sprintf(format, args...))
}

func (p *msgProc) WriteStdin(data []byte) error {
	p.mu.Lock()
	closed := p.closed > 0
	p.mu.Unlock()
	if closed {
		p.op("stdin after close")
	}
	p.op("stdin %q", data)
	if p.failOn != "" && string(data) == p.failOn {
		return errors.New("stdin broke")
	}
	return nil
}

func (p *msgProc) CloseStdin() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed++
	p.ops = append(p.ops, "eof")
	if p.closed == 1 {
		close(p.stdin)
	}
}

func (p *msgProc) Signal(s garden.Signal) error {
	if s == stopSignal {
		close(p.sawStop)
		return nil
	}
	p.op("signal %d", s)
	return nil
}

func (p *msgProc) SetTTY(t garden.TTYSpec) error {
	if t.WindowSize == nil {
		p.op("tty")
	} else {
		p.op("tty %dx%d", t.WindowSize.Columns, t.WindowSize.Rows)
	}
	return nil
}

func (p *msgProc) Wait(ctx context.Context) (int, error) { return 0, nil }
func (p *msgProc) Detach()                               {}

// expectedOps is what the input messages mean, read one JSON message at a
// time as both sides read them, up to the first that does not decode:
// resize wins over stdin, stdin over a signal, and stdin ends at the
// first message with a source and no data, or when the input ends.
func expectedOps(stream []byte, failOn string) []string {
	var ops []string
	dec := json.NewDecoder(bytes.NewReader(stream))
	open := true
	for {
		var m garden.ProcessPayload
		if dec.Decode(&m) != nil {
			break
		}
		switch {
		case m.TTY != nil && m.TTY.WindowSize == nil:
			ops = append(ops, "tty")
		case m.TTY != nil:
			ops = append(ops, fmt.Sprintf("tty %dx%d", m.TTY.WindowSize.Columns, m.TTY.WindowSize.Rows))
		case m.Source != nil && m.Data != nil:
			if open {
				ops = append(ops, fmt.Sprintf("stdin %q", *m.Data))
				if failOn != "" && *m.Data == failOn {
					open = false // a broken stdin is not closed again
				}
			}
		case m.Source != nil:
			if open {
				ops = append(ops, "eof")
				open = false
			}
		case m.Signal != nil:
			ops = append(ops, fmt.Sprintf("signal %d", *m.Signal))
		}
	}
	if open {
		ops = append(ops, "eof")
	}
	return ops
}

// FuzzReadInput: the server's reading of a client's messages never
// panics, ends when a bounded input ends, closes stdin at most once and
// writes none after closing it, and does what each message says.
func FuzzReadInput(f *testing.F) {
	for _, s := range []string{
		`{"process_id":"p1","source":0,"data":"hello"}` + "\n" + `{"process_id":"p1","source":0}` + "\n",
		`{"process_id":"p1","tty":{"window_size":{"columns":80,"rows":24}}}` + "\n" + `{"signal":1}` + "\n" + `{"signal":0}`,
		`{"source":0,"data":""}{"source":0}{"source":0,"data":"late"}{"signal":0}`,
		`{"tty":{}}{"tty":{"window_size":{}}}{"tty":null,"signal":5}`,
		`{"source":0,"data":"x","signal":1,"tty":{}}`,
		`{"source":0,"data":"fail"}{"source":0,"data":"after"}`,
		`{"source":0,"data":"\ud800\u0000"}`,
		`{"process_id":"p1"}`, `{"exit_status":0}`, `{"error":"boom"}`,
		`{"source":0,"data":"cut`, `[]`, `{"signal":"x"}`, `{"Source":0,"DATA":"case"}`, ``,
	} {
		f.Add([]byte(s))
	}
	s := &Server{log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, stream []byte) {
		p := newMsgProc()
		p.failOn = "fail"
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.readInput(bytes.NewReader(stream), p, "h1")
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("readInput(%q) did not return at the end of its input", stream)
		}
		if p.closed > 1 {
			t.Fatalf("readInput(%q) closed stdin %d times", stream, p.closed)
		}
		if want := expectedOps(stream, p.failOn); !slices.Equal(p.ops, want) {
			t.Fatalf("readInput(%q):\n did  %q\n want %q", stream, p.ops, want)
		}
	})
}

// runBackend is the wire tests' fake with a Run whose process exits as
// the fuzz input says, once its stdin has closed and the stop signal has
// come (so every message before the stop has been handled).
type runBackend struct {
	*fake
	mu     sync.Mutex
	procs  []*runProc
	status int
	errMsg string
}

type runProc struct {
	*msgProc
	out    *gardener.Output
	status int
	errMsg string
}

func (p *runProc) WriteStdin(data []byte) error {
	_, _ = p.out.Stdout.Write(data)
	return p.msgProc.WriteStdin(data)
}

func (p *runProc) Wait(ctx context.Context) (int, error) {
	for _, c := range []chan struct{}{p.stdin, p.sawStop} {
		select {
		case <-c:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if p.errMsg != "" {
		return 0, errors.New(p.errMsg)
	}
	return p.status, nil
}

func (b *runBackend) Run(_ context.Context, _ string, _ garden.ProcessSpec, out *gardener.Output) (*runProc, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := &runProc{msgProc: newMsgProc(), out: out, status: b.status, errMsg: b.errMsg}
	b.procs = append(b.procs, p)
	return p, nil
}

func (b *runBackend) Attach(context.Context, string, string, *gardener.Output) (*runProc, error) {
	return nil, garden.ProcessNotFoundError{ProcessID: "none"}
}

// asJSON is s as it arrives through a JSON string: each byte that is not
// part of valid UTF-8 becomes U+FFFD.
func asJSON(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

// FuzzRunMessages: the client's messages and the server's, through the
// real client and server on a socket, mean the same on both sides: stdin
// bytes (as UTF-8, the wire's rule), resizes and signals arrive in order,
// and the exit status or error the process ends with is what the client's
// Wait returns.
func FuzzRunMessages(f *testing.F) {
	f.Add([]byte("hello\n"), []byte{1, 2, 3}, 0, "")
	f.Add([]byte{}, []byte{}, 137, "")
	f.Add([]byte("\xff\xfe half \xe2\x82"), []byte{0, 0, 9}, -1, "")
	f.Add([]byte("x"), []byte{255}, 0, "process exploded: \"quoted\"\n\xff")
	f.Add(bytes.Repeat([]byte("é"), 20000), []byte{7, 7, 7, 7}, 1, "")

	dir, err := os.MkdirTemp("", "gdnfz")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		f.Fatal(err)
	}
	b := &runBackend{fake: newFake()}
	srv := New(b, Config{})
	hs := &http.Server{Handler: srv}
	go func() { _ = hs.Serve(ln) }()
	f.Cleanup(func() {
		srv.Detach()
		_ = hs.Close()
	})
	c, err := client.New("unix", sock).Lookup("h1")
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, stdin, ops []byte, status int, errMsg string) {
		b.mu.Lock()
		b.status, b.errMsg, b.procs = status, errMsg, nil
		b.mu.Unlock()
		var stdout bytes.Buffer
		proc, err := c.Run(garden.ProcessSpec{Path: "cat"}, client.ProcessIO{Stdin: bytes.NewReader(stdin), Stdout: &stdout, Stderr: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		// Each op byte is a signal (even) or a resize (odd).
		var wantOps []string
		for i, op := range ops {
			if op%2 == 0 {
				sig := garden.Signal(op / 2)
				if err := proc.Signal(sig); err != nil {
					t.Fatal(err)
				}
				wantOps = append(wantOps, fmt.Sprintf("signal %d", sig))
			} else {
				ws := garden.WindowSize{Columns: uint16(op) << 8, Rows: uint16(i)}
				if err := proc.SetTTY(garden.TTYSpec{WindowSize: &ws}); err != nil {
					t.Fatal(err)
				}
				wantOps = append(wantOps, fmt.Sprintf("tty %dx%d", ws.Columns, ws.Rows))
			}
		}
		if err := proc.Signal(stopSignal); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var got int
		var werr error
		go func() {
			defer close(done)
			got, werr = proc.Wait()
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("Wait did not return after the process exited")
		}
		b.mu.Lock()
		p := b.procs[0]
		b.mu.Unlock()
		p.mu.Lock()
		var others []string
		var data strings.Builder
		for _, op := range p.ops {
			if after, ok := strings.CutPrefix(op, "stdin "); ok {
				var s string
				fmt.Sscanf(after, "%q", &s)
				data.WriteString(s)
			} else if op != "eof" {
				others = append(others, op)
			}
		}
		closed := p.closed
		p.mu.Unlock()
		if closed != 1 {
			t.Fatalf("stdin closed %d times", closed)
		}
		want := asJSON(string(stdin))
		if data.String() != want {
			t.Fatalf("stdin %q arrived as %q; want %q", stdin, data.String(), want)
		}
		// After an error message the client stops waiting for output
		// (it may never end), so stdout is only complete after an exit.
		if errMsg == "" && stdout.String() != want {
			t.Fatalf("stdin %q came back on stdout as %q; want %q", stdin, stdout.String(), want)
		}
		if !slices.Equal(others, wantOps) {
			t.Fatalf("messages arrived as %q, want %q", others, wantOps)
		}
		if errMsg != "" {
			if werr == nil || !strings.Contains(werr.Error(), asJSON(errMsg)) || got != -1 {
				t.Fatalf("process error %q reached the client as %d, %v", errMsg, got, werr)
			}
			return
		}
		if werr != nil || got != status {
			t.Fatalf("exit status %d reached the client as %d, %v", status, got, werr)
		}
	})
}
