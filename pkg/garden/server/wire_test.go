package server

// The wire replay: every request of testdata/garden-wire-captures.txt (the
// reference server's bytes, recorded with a fake backend) is sent on a
// real unix socket to New(fake backend), and the answer must be the
// recorded bytes, status line, headers (in order) and body, with only the
// Date value normalised. The capture file is parsed here, so the
// recording and not a transcription of it is the expectation.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/gardener"
)

const capturesFile = "testdata/garden-wire-captures.txt"

// dateRE matches an HTTP date (as net/http writes it) or the captures'
// placeholder for one.
var dateRE = regexp.MustCompile(`Date: (<date>|[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)\r\n`)

func normDate(s string) string { return dateRE.ReplaceAllString(s, "Date: <date>\r\n") }

// wireLen is how many bytes the server sends for expected, whose dates
// may be the 6-byte placeholder instead of net/http's 29 bytes.
func wireLen(expected string) int {
	return len(expected) + strings.Count(expected, "Date: <date>\r\n")*(len(http.TimeFormat)-len("<date>"))
}

// ---- the fake backend ----

// fake answers with the values the captures show; each section may set
// it up differently (the reference's fake did too: info and bulk_info of
// h1 differ). It records what the server passed on.
type fake struct {
	mu sync.Mutex

	handles  []string // List's answer
	info     map[string]garden.ContainerInfo
	infoErr  map[string]error
	metrics  map[string]garden.Metrics
	metErr   map[string]error
	netIn    [2]uint32 // NetIn's answer
	proc     procScript
	lookedUp []string

	// recorded
	created   []garden.ContainerSpec
	filters   []garden.Properties
	stops     []bool
	props     map[string]string
	removed   []string
	grace     []time.Duration
	netInReq  [][2]uint32
	netOut    [][]garden.NetOutRule
	streamIn  []string // user dst body
	streamOut []string // user src
	ran       []garden.ProcessSpec
	procs     []*fakeProc
	destroyed []string
}

// procScript is what a Run's fake process does: stderr at once, stdout
// prefix+data for each stdin write, and exit (status) once stdin is
// closed and a signal has come.
type procScript struct {
	stdoutPrefix, stderr string
	status               int
}

func newFake() *fake {
	return &fake{
		handles: []string{"h1"},
		info:    map[string]garden.ContainerInfo{},
		infoErr: map[string]error{},
		metrics: map[string]garden.Metrics{},
		metErr:  map[string]error{},
		props:   map[string]string{},
	}
}

func (f *fake) Lookup(h string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookedUp = append(f.lookedUp, h)
	if h == "missing" {
		return garden.ContainerNotFoundError{Handle: h}
	}
	return nil
}

func (f *fake) Capacity(context.Context, int) (garden.Capacity, error) {
	return garden.Capacity{MemoryInBytes: 1024, DiskInBytes: 2048, SchedulableDiskInBytes: 100, MaxContainers: 3}, nil
}

func (f *fake) Create(_ context.Context, spec garden.ContainerSpec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = append(f.created, spec)
	return spec.Handle, nil
}

func (f *fake) Destroy(_ context.Context, h string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h == "missing" {
		return garden.ContainerNotFoundError{Handle: h}
	}
	f.destroyed = append(f.destroyed, h)
	return nil
}

func (f *fake) List(_ context.Context, filter garden.Properties) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = append(f.filters, filter)
	return f.handles, nil
}

func (f *fake) Info(_ context.Context, h string) (garden.ContainerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.infoErr[h]; err != nil {
		return garden.ContainerInfo{State: "must not show"}, err
	}
	return f.info[h], nil
}

func (f *fake) Metrics(_ context.Context, h string) (garden.Metrics, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.metErr[h]; err != nil {
		return garden.Metrics{Age: 99}, err
	}
	return f.metrics[h], nil
}

func (f *fake) Stop(_ context.Context, _ string, kill bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stops = append(f.stops, kill)
	return nil
}

func (f *fake) StreamIn(_ context.Context, _, user, dst string, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.streamIn = append(f.streamIn, user+" "+dst+" "+string(b))
	return nil
}

func (f *fake) StreamOut(_ context.Context, _, user, src string, w io.Writer) error {
	f.mu.Lock()
	f.streamOut = append(f.streamOut, user+" "+src)
	f.mu.Unlock()
	data := "TARDATA"
	if src == "/etc/passwd" {
		data = "TAR"
	}
	_, err := io.WriteString(w, data)
	return err
}

func (f *fake) MemoryLimits(context.Context, string) (garden.MemoryLimits, error) {
	return garden.MemoryLimits{LimitInBytes: 1000}, nil
}

func (f *fake) CPULimits(context.Context, string) (garden.CPULimits, error) {
	return garden.CPULimits{LimitInShares: 10}, nil
}

func (f *fake) NetIn(_ context.Context, _ string, hp, cp uint32) (uint32, uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.netInReq = append(f.netInReq, [2]uint32{hp, cp})
	return f.netIn[0], f.netIn[1], nil
}

func (f *fake) NetOut(_ context.Context, _ string, rules []garden.NetOutRule) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.netOut = append(f.netOut, rules)
	return nil
}

func (f *fake) Properties(context.Context, string) (garden.Properties, error) {
	return garden.Properties{"k": "v"}, nil
}

func (f *fake) Property(_ context.Context, _, key string) (string, error) {
	if key == "x" {
		return "v", nil
	}
	return "", fmt.Errorf("property does not exist: %s", key)
}

func (f *fake) SetProperty(_ context.Context, _, key, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.props[key] = value
	return nil
}

func (f *fake) RemoveProperty(_ context.Context, _, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, key)
	return nil
}

func (f *fake) GraceTimes(context.Context) (map[string]time.Duration, error) {
	return map[string]time.Duration{}, nil
}

func (f *fake) SetGraceTime(_ context.Context, _ string, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.grace = append(f.grace, d)
	return nil
}

func (f *fake) Run(_ context.Context, _ string, spec garden.ProcessSpec, out *gardener.Output) (*fakeProc, error) {
	if spec.Path == "missing" {
		return nil, garden.ExecutableNotFoundError{Message: "exec: missing: executable file not found in $PATH"}
	}
	id := spec.ID
	if id == "" {
		id = "proc-1"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &fakeProc{id: id, out: out, script: f.proc, stdinClosed: make(chan struct{}), signalled: make(chan struct{})}
	_, _ = io.WriteString(out.Stderr, f.proc.stderr)
	f.ran = append(f.ran, spec)
	f.procs = append(f.procs, p)
	return p, nil
}

func (f *fake) Attach(_ context.Context, _, id string, _ *gardener.Output) (*fakeProc, error) {
	return nil, garden.ProcessNotFoundError{ProcessID: id}
}

type fakeProc struct {
	id     string
	out    *gardener.Output
	script procScript

	mu          sync.Mutex
	stdinClosed chan struct{}
	signalled   chan struct{}
	ttys        []garden.TTYSpec
	signals     []garden.Signal
	detached    bool
}

func (p *fakeProc) ID() string { return p.id }

func (p *fakeProc) WriteStdin(data []byte) error {
	_, err := io.WriteString(p.out.Stdout, p.script.stdoutPrefix+string(data))
	return err
}

func (p *fakeProc) CloseStdin() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stdinClosed:
	default:
		close(p.stdinClosed)
	}
}

func (p *fakeProc) Signal(s garden.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signals = append(p.signals, s)
	if len(p.signals) == 1 {
		close(p.signalled)
	}
	return nil
}

func (p *fakeProc) SetTTY(t garden.TTYSpec) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ttys = append(p.ttys, t)
	return nil
}

func (p *fakeProc) Wait(ctx context.Context) (int, error) {
	for _, c := range []chan struct{}{p.stdinClosed, p.signalled} {
		select {
		case <-c:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return p.script.status, nil
}

func (p *fakeProc) Detach() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.detached = true
}

// ---- the server on a unix socket ----

// serve starts New(f) on a fresh unix socket and returns a dialer.
func serve(t *testing.T, f *fake) func() net.Conn {
	t.Helper()
	_, dial := serveWith(t, f, Config{})
	return dial
}

// serveWith is serve with a Config, and the Server too.
func serveWith(t *testing.T, f *fake, cfg Config) (*Server, func() net.Conn) {
	t.Helper()
	dir, err := os.MkdirTemp("", "wire")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "garden.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(f, cfg)
	hs := &http.Server{Handler: srv}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		srv.Detach()
		_ = hs.Close()
	})
	return srv, func() net.Conn {
		t.Helper()
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		t.Cleanup(func() { c.Close() })
		return c
	}
}

// exchange sends req on a new connection and reads the answer to EOF.
func exchange(t *testing.T, dial func() net.Conn, req string) string {
	t.Helper()
	c := dial()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, got)
	}
	return string(got)
}

// readN reads the bytes expected stands for (see wireLen).
func readN(t *testing.T, r io.Reader, expected string) string {
	t.Helper()
	b := make([]byte, wireLen(expected))
	n, err := io.ReadFull(r, b)
	if err != nil {
		t.Fatalf("read %d bytes: %v (got %q, want %q)", len(b), err, b[:n], expected)
	}
	return string(b)
}

func expectEOF(t *testing.T, name string, r io.Reader) {
	t.Helper()
	rest, err := io.ReadAll(r)
	if err != nil || len(rest) > 0 {
		t.Errorf("%s: want EOF, got %q (err %v)", name, rest, err)
	}
}

func same(t *testing.T, what, got, want string) {
	t.Helper()
	if g, w := normDate(got), normDate(want); g != w {
		t.Errorf("%s:\n got %q\nwant %q", what, g, w)
	}
}

// ---- parsing the captures ----

func readCaptures(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(capturesFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// probe returns the text of the "## <title>..." part of the captures.
func probe(t *testing.T, all, title string) string {
	t.Helper()
	for part := range strings.SplitSeq(all, "\n## ") {
		if strings.HasPrefix(part, title) {
			return part
		}
	}
	t.Fatalf("captures: no probe %q", title)
	return ""
}

// httpMessage cuts one raw message (CRLF, the body after the blank line,
// Content-Length of it) off the front of s: the message, and what
// follows it.
func httpMessage(t *testing.T, s string) (wire, rest string) {
	t.Helper()
	head, after, ok := strings.Cut(s, "\r\n\r\n")
	if !ok {
		t.Fatalf("captures: no header end in %q", s)
	}
	n := 0
	for line := range strings.SplitSeq(head, "\r\n") {
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			var err error
			if n, err = strconv.Atoi(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n > len(after) {
		t.Fatalf("captures: body shorter than %d: %q", n, after)
	}
	return head + "\r\n\r\n" + after[:n], after[n:]
}

type section struct{ name, text string }

// sections splits probe 1 at its "===== name" lines. Its messages are
// the raw bytes (CRLF), but the Date placeholder's line lost its CR.
func sections(t *testing.T, p string) []section {
	t.Helper()
	p = strings.ReplaceAll(p, "Date: <date>\n", "Date: <date>\r\n")
	var out []section
	for i, part := range strings.Split(p, "\n===== ") {
		if i == 0 {
			continue
		}
		name, text, _ := strings.Cut(part, "\n")
		out = append(out, section{name, text})
	}
	if len(out) == 0 {
		t.Fatal("captures: no sections")
	}
	return out
}

// ---- probe 1: hand-written requests ----

// probe1Setup sets the fake up for a section where the default fake does
// not give the recorded answer; probe1Check checks what the backend got
// (the captures' notes).
var probe1Setup = map[string]func(f *fake){
	"info": func(f *fake) {
		f.info["h1"] = garden.ContainerInfo{
			State: "active", Events: []string{"Out of memory"}, HostIP: "10.254.0.1",
			ContainerIP: "10.254.0.2", ExternalIP: "1.2.3.4", ContainerPath: "/var/run/gdn/depot/h1",
			Properties: garden.Properties{"a": "b"}, MappedPorts: []garden.PortMapping{{HostPort: 61001, ContainerPort: 8080}},
		}
	},
	"bulk_info": func(f *fake) {
		f.info["h1"] = garden.ContainerInfo{State: "active"}
		// The typed error of a real backend: the entry is still a plain
		// error, as Guardian's (and as the recorded one).
		f.infoErr["h2"] = garden.ContainerNotFoundError{Handle: "h2"}
	},
	"bulk_metrics": func(f *fake) {
		f.metrics["h1"] = garden.Metrics{Age: 5}
		f.metErr["h2"] = garden.ContainerNotFoundError{Handle: "h2"}
	},
	"metrics": func(f *fake) {
		f.metrics["h1"] = garden.Metrics{NetworkStat: &garden.ContainerNetworkStat{RxBytes: 1, TxBytes: 2}, Age: time.Second, CPUEntitlement: 5}
	},
	"net_in": func(f *fake) { f.netIn = [2]uint32{61001, 8080} },
}

var probe1Check = map[string]func(t *testing.T, f *fake){
	"create": func(t *testing.T, f *fake) {
		s := f.created[len(f.created)-1]
		if s.Handle != "h1" || s.GraceTime != 5*time.Second || s.Properties["a"] != "b" {
			t.Errorf("create spec %+v", s)
		}
	},
	"list": func(t *testing.T, f *fake) {
		if got := f.filters[len(f.filters)-1]; fmt.Sprint(got) != "map[a:b c:d]" {
			t.Errorf("list filter passed to backend: %v", got)
		}
	},
	"stop":            func(t *testing.T, f *fake) { wantLast(t, "stop kill", f.stops, true) },
	"set property":    func(t *testing.T, f *fake) { wantEq(t, "property x", f.props["x"], "y") },
	"remove property": func(t *testing.T, f *fake) { wantLast(t, "removed", f.removed, "x") },
	"grace_time":      func(t *testing.T, f *fake) { wantLast(t, "grace time", f.grace, 30*time.Second) },
	"net_in":          func(t *testing.T, f *fake) { wantLast(t, "net_in ports", f.netInReq, [2]uint32{0, 8080}) },
	"net_out": func(t *testing.T, f *fake) {
		rs := f.netOut[len(f.netOut)-1]
		if len(rs) != 1 || rs[0].Protocol != garden.ProtocolTCP || len(rs[0].Networks) != 1 ||
			!rs[0].Networks[0].Start.Equal(net.IPv4(8, 8, 8, 8)) || !rs[0].Networks[0].End.Equal(net.IPv4(8, 8, 8, 8)) ||
			len(rs[0].Ports) != 1 || rs[0].Ports[0] != (garden.PortRange{Start: 53, End: 53}) || rs[0].ICMPs != nil || !rs[0].Log {
			t.Errorf("netout rule: %+v", rs)
		}
	},
	"bulk net_out": func(t *testing.T, f *fake) {
		rs := f.netOut[len(f.netOut)-1]
		if len(rs) != 2 || rs[0].Protocol != garden.ProtocolUDP || rs[1].Protocol != garden.ProtocolICMP ||
			rs[1].ICMPs == nil || rs[1].ICMPs.Type != 8 || rs[1].ICMPs.Code == nil || *rs[1].ICMPs.Code != 0 {
			t.Errorf("bulk netout rules: %+v", rs)
		}
	},
	"stream_out": func(t *testing.T, f *fake) { wantLast(t, "stream out", f.streamOut, "root /etc/hosts") },
	"stream_in":  func(t *testing.T, f *fake) { wantLast(t, "stream in", f.streamIn, "root /tmp abc") },
	"destroy":    func(t *testing.T, f *fake) { wantLast(t, "destroyed", f.destroyed, "h1") },
}

// onlyRequested drops the entries of a bulk response that were not asked
// for: the reference's fake answered bulk_metrics?handles=h1 with an h2
// entry too (a typed ContainerNotFoundError, which this server, like
// Guardian, would send as a plain error; see TestWireBulkEntries).
func onlyRequested(t *testing.T, resp string, handles ...string) string {
	t.Helper()
	head, body, _ := strings.Cut(resp, "\r\n\r\n")
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	keep := map[string]json.RawMessage{}
	for _, h := range handles {
		keep[h] = m[h]
	}
	b, err := json.Marshal(keep)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	head = regexp.MustCompile(`Content-Length: \d+`).ReplaceAllString(head, "Content-Length: "+strconv.Itoa(len(b)))
	return head + "\r\n\r\n" + string(b)
}

func wantLast[T comparable](t *testing.T, what string, got []T, want T) {
	t.Helper()
	if len(got) == 0 || got[len(got)-1] != want {
		t.Errorf("%s: got %v, want last %v", what, got, want)
	}
}

func wantEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func TestWireProbe1(t *testing.T) {
	secs := sections(t, probe(t, readCaptures(t), "Server responses to hand-written requests"))
	replayed := 0
	for _, sec := range secs {
		if strings.Contains(sec.name, "hijacked") {
			continue // TestWireProbe1Run
		}
		t.Run(sec.name, func(t *testing.T) {
			reqText, respText, ok := strings.Cut(sec.text, "--- response:\n")
			if !ok {
				t.Fatalf("no response in %q", sec.text)
			}
			req, _ := httpMessage(t, strings.TrimPrefix(reqText, "--- request:\n"))
			want, _ := httpMessage(t, respText)
			if sec.name == "bulk_metrics" {
				want = onlyRequested(t, want, "h1")
			}
			f := newFake()
			if setup := probe1Setup[sec.name]; setup != nil {
				setup(f)
			}
			dial := serve(t, f)
			same(t, "response", exchange(t, dial, req), want)
			if check := probe1Check[sec.name]; check != nil {
				f.mu.Lock()
				defer f.mu.Unlock()
				check(t, f)
			}
		})
		replayed++
	}
	if replayed != 33 {
		t.Errorf("replayed %d sections of probe 1, want all 33 but the Run", replayed)
	}
}

// TestWireProbe1Run replays probe 1's hijacked Run: the header block and
// first message, stdin/resize/signal/EOF messages, the exit status, and
// the raw stdout and stderr streams.
func TestWireProbe1Run(t *testing.T) {
	p := probe(t, readCaptures(t), "Server responses to hand-written requests")
	var text string
	for _, s := range sections(t, p) {
		if strings.Contains(s.name, "hijacked") {
			text = s.text
		}
	}
	if text == "" {
		t.Fatal("captures: no hijacked Run section")
	}
	reqText, rest, _ := strings.Cut(strings.TrimPrefix(text, "--- request:\n"), "--- response headers:\n")
	req, _ := httpMessage(t, reqText)
	head, rest, _ := strings.Cut(rest, "\r\n\r\n")
	wantHead := head + "\r\n\r\n"

	var first string
	var sends, wantMsgs []string
	var wantStream [2]string
	lines := strings.Split(rest, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "--- first message: "):
			first = strings.TrimPrefix(l, "--- first message: ") + "\n"
		case strings.HasPrefix(l, "--- client sends: "):
			sends = append(sends, strings.TrimPrefix(l, "--- client sends: ")+"\n")
		case l == "--- remaining server messages on run conn:":
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "{") {
				i++
				wantMsgs = append(wantMsgs, lines[i]+"\n")
			}
		case l == "--- stdout stream raw:", l == "--- stderr stream raw:":
			i++
			s, err := strconv.Unquote(lines[i])
			if err != nil {
				t.Fatalf("captures: %q: %v", lines[i], err)
			}
			wantStream[map[bool]int{true: 0, false: 1}[strings.Contains(l, "stdout")]] = s
		}
	}
	if first == "" || len(sends) != 4 || len(wantMsgs) != 1 || wantStream[0] == "" || wantStream[1] == "" {
		t.Fatalf("captures: parsed first=%q sends=%q msgs=%q streams=%q", first, sends, wantMsgs, wantStream)
	}

	f := newFake()
	f.proc = procScript{stdoutPrefix: "got:", stderr: "err-line", status: 42}
	dial := serve(t, f)
	run := dial()
	if _, err := io.WriteString(run, req); err != nil {
		t.Fatal(err)
	}
	same(t, "run response", readN(t, run, wantHead+first), wantHead+first)

	// The first message names the stream (and says it is "1").
	streamReq := func(name string) string {
		return "GET /containers/h1/processes/proc-1/attaches/1/" + name + " HTTP/1.1\r\nHost: api\r\nUser-Agent: Go-http-client/1.1\r\nContent-Type: application/json\r\n\r\n"
	}
	var streams [2]net.Conn
	for i, name := range []string{"stdout", "stderr"} {
		streams[i] = dial()
		if _, err := io.WriteString(streams[i], streamReq(name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range sends {
		if _, err := io.WriteString(run, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range wantMsgs {
		same(t, "run message", readN(t, run, m), m)
	}
	expectEOF(t, "run connection", run)
	for i, name := range []string{"stdout", "stderr"} {
		got, err := io.ReadAll(streams[i])
		if err != nil {
			t.Fatal(err)
		}
		same(t, name+" stream", string(got), wantStream[i])
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ran) != 1 {
		t.Fatalf("backend runs: %d", len(f.ran))
	}
	s := f.ran[0]
	if s.ID != "" || s.Path != "/bin/cat" || fmt.Sprint(s.Args) != "[-]" || s.TTY == nil || s.TTY.WindowSize == nil ||
		*s.TTY.WindowSize != (garden.WindowSize{Columns: 80, Rows: 24}) || s.OverrideContainerLimits != nil || s.Image.URI != "" {
		t.Errorf("spec seen by backend: %+v", s)
	}
	pr := f.procs[0]
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if len(pr.ttys) != 1 || pr.ttys[0].WindowSize == nil || *pr.ttys[0].WindowSize != (garden.WindowSize{Columns: 100, Rows: 50}) {
		t.Errorf("resizes: %+v", pr.ttys)
	}
	if fmt.Sprint(pr.signals) != "[0]" {
		t.Errorf("signals: %v", pr.signals)
	}
	if !pr.detached {
		t.Error("the server did not detach from the process")
	}
}

// ---- probe 2: the Go client's traffic, connection by connection ----

var connLineRE = regexp.MustCompile(`^\[conn (\d+) (C->S|S->C)\] (".*")$`)

type step struct {
	conn   int
	toSrv  bool
	data   string
	source string
}

type scenario struct {
	name  string
	steps []step
}

func probe2Scenarios(t *testing.T) []scenario {
	t.Helper()
	var out []scenario
	for l := range strings.SplitSeq(probe(t, readCaptures(t), "Go client <-> server traffic"), "\n") {
		if name, ok := strings.CutPrefix(l, "######## "); ok {
			out = append(out, scenario{name: name})
			continue
		}
		m := connLineRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		data, err := strconv.Unquote(m[3])
		if err != nil {
			t.Fatalf("captures: %q: %v", l, err)
		}
		if len(out) == 0 {
			t.Fatalf("captures: %q before any scenario", l)
		}
		s := &out[len(out)-1]
		s.steps = append(s.steps, step{conn: n, toSrv: m[2] == "C->S", data: data, source: l})
	}
	return out
}

// probe2Skip are the scenarios whose answer was the reference fake's own
// choice through a method our Backend does not have: its BulkInfo returned
// a nil map ("null"); this server builds the map from Info, one entry per
// handle, as Guardian does ({} for no handles; see TestWireBulkInfoEdges).
var probe2Skip = map[string]string{
	"BulkInfo":       "the reference fake's BulkInfo returned nil",
	"BulkInfo empty": "the reference fake's BulkInfo returned nil; Guardian answers {}",
}

func TestWireProbe2(t *testing.T) {
	scs := probe2Scenarios(t)
	if len(scs) < 14 {
		t.Fatalf("captures: %d scenarios", len(scs))
	}
	for _, sc := range scs {
		if len(sc.steps) == 0 {
			continue // "Run result: ..." is a note
		}
		t.Run(sc.name, func(t *testing.T) {
			if why := probe2Skip[sc.name]; why != "" {
				t.Skip(why)
			}
			f := newFake()
			f.proc = procScript{stdoutPrefix: "out:", stderr: "err", status: 3}
			dial := serve(t, f)
			conns := map[int]net.Conn{}
			var order []int
			for _, st := range sc.steps {
				c := conns[st.conn]
				if c == nil {
					if !st.toSrv {
						t.Fatalf("captures: server speaks first on conn %d", st.conn)
					}
					c = dial()
					conns[st.conn] = c
					order = append(order, st.conn)
				}
				if st.toSrv {
					if _, err := io.WriteString(c, st.data); err != nil {
						t.Fatalf("%s: %v", st.source, err)
					}
					continue
				}
				same(t, st.source, readN(t, c, st.data), st.data)
			}
			for _, n := range order {
				expectEOF(t, fmt.Sprintf("conn %d", n), conns[n])
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if check := probe2Check[sc.name]; check != nil {
				check(t, f)
			}
		})
	}
}

var probe2Check = map[string]func(t *testing.T, f *fake){
	"Create (full spec)": func(t *testing.T, f *fake) {
		s := f.created[0]
		if s.Handle != "h1" || s.GraceTime != 300*time.Second || s.Image.URI != "docker:///busybox#latest" ||
			s.Network != "10.254.0.8/30" || !s.Privileged || s.Limits.Pid.Max != 10 || len(s.NetIn) != 1 ||
			len(s.BindMounts) != 1 || s.BindMounts[0].Mode != garden.BindMountModeRW {
			t.Errorf("create spec: %+v", s)
		}
	},
	"List with filter":   func(t *testing.T, f *fake) { wantEq(t, "filter", fmt.Sprint(f.filters), "[map[k:v]]") },
	"Lookup (uses list)": func(t *testing.T, f *fake) { wantEq(t, "filter", fmt.Sprint(f.filters), "[map[]]") },
	"SetGraceTime":       func(t *testing.T, f *fake) { wantLast(t, "grace", f.grace, 10*time.Second) },
	"Stop":               func(t *testing.T, f *fake) { wantLast(t, "stop kill", f.stops, false) },
	"StreamIn":           func(t *testing.T, f *fake) { wantLast(t, "stream in", f.streamIn, "vcap /tmp/dst TARBYTES") },
	"StreamOut":          func(t *testing.T, f *fake) { wantLast(t, "stream out", f.streamOut, "root /etc/passwd") },
	"NetIn":              func(t *testing.T, f *fake) { wantLast(t, "net in", f.netInReq, [2]uint32{0, 8080}) },
	"Destroy":            func(t *testing.T, f *fake) { wantLast(t, "destroyed", f.destroyed, "h1") },
	"Run with tty, rlimits, limits, image, bind mounts": func(t *testing.T, f *fake) {
		s := f.ran[0]
		if s.ID != "proc-1" || s.Path != "/bin/sh" || fmt.Sprint(s.Args) != "[-c cat]" || fmt.Sprint(s.Env) != "[X=1]" ||
			s.Dir != "/root" || s.User != "root" || s.Limits.Nofile == nil || *s.Limits.Nofile != 1024 ||
			s.OverrideContainerLimits == nil || s.OverrideContainerLimits.CPU.Weight != 1 ||
			s.OverrideContainerLimits.Memory.LimitInBytes != 2 || s.Image.URI != "/rootfs" || len(s.BindMounts) != 1 {
			t.Errorf("run spec: %+v", s)
		}
		pr := f.procs[0]
		pr.mu.Lock()
		defer pr.mu.Unlock()
		// Unlike the reference, resize and signal after stdin EOF still
		// reach the process.
		if len(pr.ttys) != 1 || *pr.ttys[0].WindowSize != (garden.WindowSize{Columns: 120, Rows: 40}) || fmt.Sprint(pr.signals) != "[1]" {
			t.Errorf("resizes %+v signals %v", pr.ttys, pr.signals)
		}
	},
}

// ---- probe 5: edge cases ----

var edgeLineRE = regexp.MustCompile(`^(.+?): (".*") \(err=<nil>\)$`)

// probe5Requests are the requests of probe 5, which the captures name but
// do not show (the paths are the ones garden-api.md gives).
var probe5Requests = map[string]string{
	"HEAD /ping":            "HEAD /ping HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n",
	"stop empty body":       "PUT /containers/h1/stop HTTP/1.1\r\nHost: api\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
	"list empty":            "GET /containers HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n",
	"stdout unknown stream": "GET /containers/h1/processes/p/attaches/99/stdout HTTP/1.1\r\nHost: api\r\n\r\n",
	"handle with %2B and +": "GET /containers/a+b%2Bc/info HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n",
	"bulk_info no handles":  "", // the reference drops the connection; see TestWireBulkInfoEdges
}

func TestWireProbe5(t *testing.T) {
	n := 0
	for l := range strings.SplitSeq(probe(t, readCaptures(t), "Edge cases"), "\n") {
		m := edgeLineRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		name := m[1]
		want, err := strconv.Unquote(m[2])
		if err != nil {
			t.Fatalf("captures: %q: %v", l, err)
		}
		req, known := probe5Requests[name]
		if !known {
			t.Errorf("captures: edge case %q has no request here", name)
			continue
		}
		n++
		if req == "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			f := newFake()
			f.handles = nil // "list empty": a backend's nil is still []
			dial := serve(t, f)
			same(t, "response", exchange(t, dial, req), want)
			if name == "handle with %2B and +" {
				f.mu.Lock()
				defer f.mu.Unlock()
				wantLast(t, "backend Lookup received handle", f.lookedUp, "a b+c")
			}
		})
	}
	if n != len(probe5Requests) {
		t.Errorf("captures: %d edge cases, want %d", n, len(probe5Requests))
	}
}

// TestWireBulkInfoEdges pins the deliberate departures from the captures:
// without a handles parameter the reference panics and drops the
// connection, this server answers {}; for handles= it answers {} as
// Guardian does (the captured "null" was the reference fake's nil map).
func TestWireBulkInfoEdges(t *testing.T) {
	dial := serve(t, newFake())
	for _, q := range []string{"", "?handles="} {
		for _, route := range []string{"bulk_info", "bulk_metrics"} {
			req := "GET /containers/" + route + q + " HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n"
			got := exchange(t, dial, req)
			want := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: <date>\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{}\n"
			same(t, route+q, got, want)
		}
	}
}

// TestWireCapturesParsed guards the parser: a capture file that stopped
// matching it would otherwise make the replays vacuous.
func TestWireCapturesParsed(t *testing.T) {
	all := readCaptures(t)
	if got := len(sections(t, probe(t, all, "Server responses to hand-written requests"))); got != 34 {
		t.Errorf("probe 1 sections: %d, want 34", got)
	}
	steps := 0
	for _, sc := range probe2Scenarios(t) {
		steps += len(sc.steps)
	}
	if steps != 33 {
		t.Errorf("probe 2 steps: %d, want 33", steps)
	}
}

// TestWireBulkEntries: a failed entry is Guardian's plain error (Type "",
// Handle "") with a zero Metrics, whatever the backend's error type.
func TestWireBulkEntries(t *testing.T) {
	f := newFake()
	f.metErr["h2"] = garden.ContainerNotFoundError{Handle: "h2"}
	dial := serve(t, f)
	got := exchange(t, dial, "GET /containers/bulk_metrics?handles=h2 HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n")
	_, body, _ := strings.Cut(got, "\r\n\r\n")
	var m map[string]garden.ContainerMetricsEntry
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%v: %q", err, got)
	}
	e := m["h2"]
	if e.Err == nil || *e.Err != (garden.Error{Message: "unknown handle: h2"}) || e.Metrics.Age != 0 {
		t.Errorf("entry: %+v", e)
	}
}
