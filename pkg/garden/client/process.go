package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"unicode/utf8"

	"github.com/gdn-dev/gdn/pkg/garden"
)

// Process is a process started by Run or reached by Attach. Its Run/Attach
// connection stays open until the process exits: stdin, signals and
// window sizes travel on it as JSON messages, and the exit status comes
// back on it. Stdout and stderr arrive on connections of their own.
type Process interface {
	ID() string
	// Wait returns the exit status (128+n for signal n) once the exit
	// message has arrived and both output streams have reached EOF. A
	// broken connection or an error message from the server is an error
	// with status -1. If the exit status arrived but an output stream
	// failed, Wait returns the status and that stream's error.
	Wait() (int, error)
	// SetTTY resizes the process's terminal.
	SetTTY(garden.TTYSpec) error
	// Signal sends SignalTerminate or SignalKill.
	Signal(garden.Signal) error
}

// stdinChunk is the most stdin sent in one message.
const stdinChunk = 32 * 1024

// hijack sends one request on a connection of its own and reads the
// response head without reading any body: after a 2xx status the server
// speaks raw bytes on the connection, which the returned reader holds the
// start of. The request has no Connection: close, so the server keeps the
// connection open. A non-2xx status closes the connection and returns the
// error its body describes.
func (c *conn) hijack(method, path string, body io.Reader, contentType string) (net.Conn, *bufio.Reader, error) {
	req, err := newRequest(method, path, nil, body, contentType)
	if err != nil {
		return nil, nil, err
	}
	nc, err := c.dial(context.Background())
	if err != nil {
		return nil, nil, err
	}
	if err := req.Write(nc); err != nil {
		nc.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := responseError(resp)
		nc.Close()
		return nil, nil, err
	}
	// The header may say chunked, but what follows is not chunk-encoded
	// (an artefact of the reference server): read br, never resp.Body.
	return nc, br, nil
}

// startProcess does Run or Attach: the request, the first message, then
// stdin and the output streams in the background.
func (c *conn) startProcess(method, path string, body io.Reader, contentType, handle string, pio ProcessIO) (Process, error) {
	nc, br, err := c.hijack(method, path, body, contentType)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(br)
	var first garden.ProcessPayload
	if err := dec.Decode(&first); err != nil {
		nc.Close()
		return nil, fmt.Errorf("connection: decode failed: %w", err)
	}
	p := &process{id: first.ProcessID, conn: nc, enc: json.NewEncoder(nc), done: make(chan struct{})}
	go p.readExit(dec)
	if pio.Stdin != nil {
		go p.sendStdin(pio.Stdin)
	}
	for _, s := range []struct {
		name string
		w    io.Writer
	}{{"stdout", pio.Stdout}, {"stderr", pio.Stderr}} {
		if s.w == nil {
			continue
		}
		streamPath := containerPath(handle, "processes", first.ProcessID, "attaches", first.StreamID, s.name)
		p.streams.Add(1)
		go p.copyStream(c, s.name, streamPath, s.w)
	}
	return p, nil
}

// process implements Process.
type process struct {
	id   string
	conn net.Conn

	wmu sync.Mutex // one message at a time on conn
	enc *json.Encoder

	done   chan struct{} // closed when status and err are set
	status int
	err    error

	streams     sync.WaitGroup
	smu         sync.Mutex
	streamConns []net.Conn
	streamsShut bool
	streamErr   error
}

func (p *process) ID() string { return p.id }

func (p *process) Wait() (int, error) {
	<-p.done
	if p.err != nil {
		// The exit will never be reported here; do not wait for output
		// that may never end.
		p.shutStreams()
		p.streams.Wait()
		return -1, p.err
	}
	p.streams.Wait()
	p.smu.Lock()
	defer p.smu.Unlock()
	return p.status, p.streamErr
}

// readExit reads server messages until the exit status or an error, and
// ignores any others.
func (p *process) readExit(dec *json.Decoder) {
	defer close(p.done)
	defer p.conn.Close()
	for {
		var msg garden.ProcessPayload
		if err := dec.Decode(&msg); err != nil {
			p.err = fmt.Errorf("connection: decode failed: %w", err)
			return
		}
		if msg.Error != nil {
			p.err = fmt.Errorf("connection: process error: %s", *msg.Error)
			return
		}
		if msg.ExitStatus != nil {
			p.status = *msg.ExitStatus
			return
		}
	}
}

func (p *process) send(msg garden.ProcessPayload) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	msg.ProcessID = p.id
	return p.enc.Encode(msg)
}

func (p *process) SetTTY(spec garden.TTYSpec) error {
	return p.send(garden.ProcessPayload{TTY: &spec})
}

func (p *process) Signal(sig garden.Signal) error {
	return p.send(garden.ProcessPayload{Signal: &sig})
}

// sendStdin sends one message per read of r, then the stdin-close message
// when r ends (on any read error, so the process is not left waiting).
// The server stops reading input after the close, so later signals or
// resizes may be ignored by it.
//
// Data travels as a JSON string, so bytes that are not UTF-8 arrive as
// U+FFFD; a rune cut in two by a read is held back until its end arrives,
// so that valid UTF-8 input is never damaged.
func (p *process) sendStdin(r io.Reader) {
	stdin := garden.StreamStdin
	buf := make([]byte, stdinChunk+utf8.UTFMax)
	held := 0
	for {
		n, err := r.Read(buf[held : held+stdinChunk])
		n += held
		cut := n
		if err == nil {
			cut = completeUTF8(buf[:n])
		}
		if cut > 0 {
			data := string(buf[:cut])
			if p.send(garden.ProcessPayload{Source: &stdin, Data: &data}) != nil {
				return
			}
		}
		held = copy(buf, buf[cut:n])
		if err != nil {
			_ = p.send(garden.ProcessPayload{Source: &stdin})
			return
		}
	}
}

// completeUTF8 is the length of b without a trailing incomplete UTF-8
// sequence (invalid bytes count as complete: waiting will not fix them).
func completeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return len(b)
			}
			return i
		}
	}
	return len(b)
}

// copyStream opens one output stream and copies its raw bytes to w until
// the server closes it.
func (p *process) copyStream(c *conn, name, path string, w io.Writer) {
	defer p.streams.Done()
	nc, br, err := c.hijack(http.MethodGet, path, nil, "application/json")
	if err != nil {
		p.streamFailed(name, err)
		return
	}
	defer nc.Close()
	if !p.trackStream(nc) {
		return
	}
	if _, err := io.Copy(w, br); err != nil && !errors.Is(err, net.ErrClosed) {
		p.streamFailed(name, err)
	}
}

// trackStream registers nc so that shutStreams can end it; false if the
// streams were already shut.
func (p *process) trackStream(nc net.Conn) bool {
	p.smu.Lock()
	defer p.smu.Unlock()
	if p.streamsShut {
		return false
	}
	p.streamConns = append(p.streamConns, nc)
	return true
}

func (p *process) shutStreams() {
	p.smu.Lock()
	defer p.smu.Unlock()
	p.streamsShut = true
	for _, nc := range p.streamConns {
		nc.Close()
	}
}

func (p *process) streamFailed(name string, err error) {
	p.smu.Lock()
	defer p.smu.Unlock()
	if p.streamErr == nil && !p.streamsShut {
		p.streamErr = fmt.Errorf("%s stream: %w", name, err)
	}
}
