package client_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/client"
)

// The Run body of the captures (probe 2), with every ProcessSpec part set.
const runBody = `{"id":"proc-1","path":"/bin/sh","args":["-c","cat"],"env":["X=1"],"dir":"/root","user":"root","rlimits":{"nofile":1024},"limits":{"cpu_limits":{"weight":1},"memory_limits":{"limit_in_bytes":2}},"tty":{"window_size":{"columns":80,"rows":24}},"image":{"uri":"/rootfs"},"bind_mounts":[{"src_path":"/a","dst_path":"/b"}]}` + "\n"

// lines sends each newline-terminated message read from br, then closes.
func lines(br *bufio.Reader) <-chan string {
	ch := make(chan string, 16)
	go func() {
		defer close(ch)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			ch <- strings.TrimSuffix(line, "\n")
		}
	}()
	return ch
}

func expectMessage(t *testing.T, msgs <-chan string, want string) {
	t.Helper()
	select {
	case got := <-msgs:
		if got != want {
			t.Errorf("client sent %s\nwant        %s", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("client did not send %s", want)
	}
}

// TestRunProtocol runs a process through the whole protocol of §5: the
// request, the first message, stdin data and EOF, a resize and a signal
// on the Run connection, both output streams on their own connections,
// and the exit status. Wait must also wait for a stream that ends after
// the exit status.
func TestRunProtocol(t *testing.T) {
	msgs := make(chan (<-chan string), 1)
	exitNow := make(chan struct{})
	exited := make(chan struct{})
	f, c := newFake(t, func(req request, nc net.Conn, br *bufio.Reader) {
		switch req.URI {
		case "/containers/h1/processes":
			// Head and first message in one write, as a real server may.
			io.WriteString(nc, hijackHead(201, true)+`{"process_id":"proc-1","stream_id":"1"}`+"\n")
			msgs <- lines(br)
			<-exitNow
			io.WriteString(nc, `{"process_id":"proc-1","stream_id":"ignored"}`+"\n"+`{"process_id":"proc-1","exit_status":42}`+"\n")
			close(exited)
		case "/containers/h1/processes/proc-1/attaches/1/stdout":
			io.WriteString(nc, hijackHead(200, false)+"got:hello")
		case "/containers/h1/processes/proc-1/attaches/1/stderr":
			io.WriteString(nc, hijackHead(200, false)+"err-")
			<-exited
			time.Sleep(50 * time.Millisecond)
			io.WriteString(nc, "line")
		default:
			t.Errorf("unexpected %s %s", req.Method, req.URI)
		}
	})

	var spec garden.ProcessSpec
	if err := jsonUnmarshal(runBody, &spec); err != nil {
		t.Fatal(err)
	}
	stdin, stdinW := io.Pipe()
	var stdout, stderr bytes.Buffer
	p, err := client.ContainerForHandle(c, "h1").Run(spec, client.ProcessIO{Stdin: stdin, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID() != "proc-1" {
		t.Errorf("ID = %q", p.ID())
	}
	in := <-msgs
	if _, err := stdinW.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	expectMessage(t, in, `{"process_id":"proc-1","source":0,"data":"hello"}`)
	if err := p.SetTTY(garden.TTYSpec{WindowSize: &garden.WindowSize{Columns: 100, Rows: 50}}); err != nil {
		t.Fatal(err)
	}
	expectMessage(t, in, `{"process_id":"proc-1","tty":{"window_size":{"columns":100,"rows":50}}}`)
	if err := p.Signal(garden.SignalTerminate); err != nil {
		t.Fatal(err)
	}
	expectMessage(t, in, `{"process_id":"proc-1","signal":0}`)
	if err := p.Signal(garden.SignalKill); err != nil {
		t.Fatal(err)
	}
	expectMessage(t, in, `{"process_id":"proc-1","signal":1}`)
	stdinW.Close()
	expectMessage(t, in, `{"process_id":"proc-1","source":0}`)
	close(exitNow)

	status, err := p.Wait()
	if status != 42 || err != nil {
		t.Errorf("Wait = %d, %v; want 42", status, err)
	}
	if stdout.String() != "got:hello" || stderr.String() != "err-line" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	if again, err := p.Wait(); again != 42 || err != nil {
		t.Errorf("second Wait = %d, %v", again, err)
	}

	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want run, stdout, stderr", len(reqs))
	}
	run := reqs[0]
	if run.Method != "POST" || run.Body != runBody {
		t.Errorf("run request %s %q", run.Method, run.Body)
	}
	// Hijacked calls carry no Connection: close and no Accept-Encoding.
	if got, want := run.headers(), "Content-Length: 318\nContent-Type: application/json\nUser-Agent: Go-http-client/1.1"; got != want {
		t.Errorf("run headers:\n%s\nwant:\n%s", got, want)
	}
	for _, r := range reqs[1:] {
		if got, want := r.headers(), "Content-Type: application/json\nUser-Agent: Go-http-client/1.1"; r.Method != "GET" || r.Body != "" || got != want {
			t.Errorf("stream request %s %s %q, headers:\n%s", r.Method, r.URI, r.Body, got)
		}
	}
}

// TestAttachWithoutIO attaches with no stdin, stdout or stderr: the client
// must open no stream connection and send no message.
func TestAttachWithoutIO(t *testing.T) {
	sent := make(chan []string, 1)
	f, c := newFake(t, func(req request, nc net.Conn, br *bufio.Reader) {
		io.WriteString(nc, hijackHead(200, true)+`{"process_id":"p+1","stream_id":"7"}`+"\n"+`{"process_id":"p+1","exit_status":0}`+"\n")
		var got []string
		for l := range lines(br) {
			got = append(got, l)
		}
		sent <- got
	})
	p, err := client.ContainerForHandle(c, "h1").Attach("p+1", client.ProcessIO{})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := p.Wait(); status != 0 || err != nil {
		t.Errorf("Wait = %d, %v", status, err)
	}
	if got := <-sent; len(got) != 0 {
		t.Errorf("client sent %q", got)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want only the attach", len(reqs))
	}
	if r := reqs[0]; r.Method != "GET" || r.URI != "/containers/h1/processes/p%2B1" || r.Body != "" || r.headers() != "User-Agent: Go-http-client/1.1" {
		t.Errorf("attach request %s %s %q %q", r.Method, r.URI, r.Body, r.headers())
	}
}

func TestWaitFailures(t *testing.T) {
	cases := []struct {
		name string
		tail string // what the server sends after the first message
		want string
	}{
		{name: "connection closed", tail: "", want: "connection: decode failed: EOF"},
		{name: "error message", tail: `{"process_id":"p","error":"boom"}` + "\n", want: "connection: process error: boom"},
		{name: "garbage", tail: "nope\n", want: "connection: decode failed: invalid character 'o' in literal null (expecting 'u')"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdoutDone := make(chan struct{})
			_, c := newFake(t, func(req request, nc net.Conn, _ *bufio.Reader) {
				if strings.HasSuffix(req.URI, "/stdout") {
					// A stream that would never end by itself.
					io.WriteString(nc, hijackHead(200, false)+"partial")
					<-stdoutDone
					return
				}
				io.WriteString(nc, hijackHead(201, true)+`{"process_id":"p","stream_id":"1"}`+"\n"+tc.tail)
			})
			defer close(stdoutDone)
			p, err := client.ContainerForHandle(c, "h1").Run(garden.ProcessSpec{Path: "x"}, client.ProcessIO{Stdout: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			status, err := p.Wait()
			if status != -1 || err == nil || err.Error() != tc.want {
				t.Errorf("Wait = %d, %v; want -1, %q", status, err, tc.want)
			}
		})
	}
}

// TestStreamFailureIsReported: an exit status with a lost output stream
// is the status and the stream's error.
func TestStreamFailureIsReported(t *testing.T) {
	_, c := newFake(t, func(req request, nc net.Conn, _ *bufio.Reader) {
		if strings.HasSuffix(req.URI, "/stderr") {
			reply(nc, 500, "application/json", `{"Type":"","Message":"no stream","Handle":"","ProcessID":"","Binary":""}`+"\n")
			return
		}
		io.WriteString(nc, hijackHead(201, true)+`{"process_id":"p","stream_id":"1"}`+"\n"+`{"process_id":"p","exit_status":3}`+"\n")
	})
	p, err := client.ContainerForHandle(c, "h1").Run(garden.ProcessSpec{Path: "x"}, client.ProcessIO{Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	status, err := p.Wait()
	if status != 3 || err == nil || err.Error() != "stderr stream: no stream" {
		t.Errorf("Wait = %d, %v", status, err)
	}
}

// TestStdinKeepsRunesWhole feeds stdin one byte at a time: a multi-byte
// rune must travel whole, not as two U+FFFD halves; invalid bytes are not
// held back.
func TestStdinKeepsRunesWhole(t *testing.T) {
	sent := make(chan []string, 1)
	_, c := newFake(t, func(req request, nc net.Conn, br *bufio.Reader) {
		io.WriteString(nc, hijackHead(201, true)+`{"process_id":"p","stream_id":"1"}`+"\n")
		var got []string
		for l := range lines(br) {
			got = append(got, l)
			if l == `{"process_id":"p","source":0}` {
				break
			}
		}
		io.WriteString(nc, `{"process_id":"p","exit_status":0}`+"\n")
		sent <- got
	})
	stdin := iotest.OneByteReader(strings.NewReader("é\xffx"))
	p, err := client.ContainerForHandle(c, "h1").Run(garden.ProcessSpec{Path: "cat"}, client.ProcessIO{Stdin: stdin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"process_id":"p","source":0,"data":"é"}`,
		`{"process_id":"p","source":0,"data":"\ufffd"}`,
		`{"process_id":"p","source":0,"data":"x"}`,
		`{"process_id":"p","source":0}`,
	}
	if got := <-sent; !slices.Equal(got, want) {
		t.Errorf("client sent\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
