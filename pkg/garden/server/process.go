package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/gardener"
)

// hijack takes the connection over and writes the reference's header
// block (its Transfer-Encoding: chunked is an accident of net/http; the
// bytes that follow are not chunked, and there must be no Connection:
// close, or the reference client gives up).
func hijack(w http.ResponseWriter, status string, contentType bool) (net.Conn, *bufio.ReadWriter, error) {
	if rec, ok := w.(*statusRecorder); ok {
		switch status {
		case "201 Created":
			rec.status = http.StatusCreated
		default:
			rec.status = http.StatusOK
		}
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// The connection lives as long as its process or stream: no deadline
	// of the request's (header or JSON body) carries over.
	_ = conn.SetDeadline(time.Time{})
	_, _ = brw.WriteString("HTTP/1.1 " + status + "\r\n")
	if contentType {
		_, _ = brw.WriteString("Content-Type: application/json\r\n")
	}
	_, _ = brw.WriteString("Date: " + time.Now().UTC().Format(http.TimeFormat) + "\r\n")
	_, _ = brw.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	return conn, brw, brw.Flush()
}

func (s *Server) run(w http.ResponseWriter, r *http.Request, p params) {
	h := p["handle"]
	var spec garden.ProcessSpec
	if !s.decode(w, r, &spec) {
		return
	}
	resume, found := s.container(w, h)
	if !found {
		return
	}
	defer resume()
	st := s.streams.create()
	proc, err := s.b.Run(r.Context(), h, spec, &gardener.Output{Stdout: st.stdout(), Stderr: st.stderr()})
	if err != nil {
		s.streams.abandon(st)
		writeError(w, err)
		return
	}
	s.serveProcess(w, h, proc, st, "201 Created")
}

func (s *Server) attach(w http.ResponseWriter, r *http.Request, p params) {
	h := p["handle"]
	resume, found := s.container(w, h)
	if !found {
		return
	}
	defer resume()
	st := s.streams.create()
	proc, err := s.b.Attach(r.Context(), h, p["pid"], &gardener.Output{Stdout: st.stdout(), Stderr: st.stderr()})
	if err != nil {
		s.streams.abandon(st)
		writeError(w, err)
		return
	}
	s.serveProcess(w, h, proc, st, "200 OK")
}

// serveProcess speaks the Run/Attach protocol on the hijacked connection:
// the first message, then client messages in, and the exit status out.
// A client that goes away leaves the process running.
func (s *Server) serveProcess(w http.ResponseWriter, h string, proc Process, st *stream, status string) {
	id := s.streams.register(st)
	defer func() {
		proc.Detach() // no output is written to st after this
		if dropped := s.streams.finish(st); dropped > 0 {
			s.log.Warn("process output dropped: its stream connections were absent or behind",
				"handle", h, "process", proc.ID(), "stream", id, "bytes", dropped)
		}
	}()
	conn, brw, err := hijack(w, status, true)
	if err != nil {
		s.log.Error("hijack", "handle", h, "error", err)
		return
	}
	defer conn.Close()
	enc := json.NewEncoder(conn)
	pid := proc.ID()
	if err := enc.Encode(garden.ProcessPayload{ProcessID: pid, StreamID: id}); err != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		s.readInput(brw.Reader, proc, h)
		cancel() // the client went away: stop waiting for it
	}()
	go func() {
		select {
		case <-s.detach:
			cancel()
		case <-ctx.Done():
		}
	}()
	code, err := proc.Wait(ctx)
	if ctx.Err() != nil {
		return
	}
	msg := garden.ProcessPayload{ProcessID: pid}
	if err != nil {
		e := err.Error()
		msg.Error = &e
	} else {
		msg.ExitStatus = &code
	}
	_ = enc.Encode(msg)
}

// readInput handles the client's messages until the connection ends:
// resize, stdin data, stdin EOF, signals. Unlike the reference it keeps
// reading after stdin EOF, so a later signal or resize still works.
func (s *Server) readInput(r io.Reader, proc Process, h string) {
	dec := json.NewDecoder(r)
	stdinOpen := true
	defer func() {
		if stdinOpen {
			proc.CloseStdin() // as the reference: a lost client ends stdin
		}
	}()
	for {
		var m garden.ProcessPayload
		if err := dec.Decode(&m); err != nil {
			return
		}
		switch {
		case m.TTY != nil:
			if err := proc.SetTTY(*m.TTY); err != nil {
				s.log.Warn("resize", "handle", h, "process", proc.ID(), "error", err)
			}
		case m.Source != nil && m.Data != nil:
			if stdinOpen {
				if err := proc.WriteStdin([]byte(*m.Data)); err != nil {
					stdinOpen = false
				}
			}
		case m.Source != nil:
			if stdinOpen {
				stdinOpen = false
				proc.CloseStdin()
			}
		case m.Signal != nil:
			if err := proc.Signal(*m.Signal); err != nil {
				s.log.Warn("signal", "handle", h, "process", proc.ID(), "error", err)
			}
		default:
			s.log.Warn("unknown process message", "handle", h, "process", proc.ID())
		}
	}
}

func (s *Server) stdout(w http.ResponseWriter, r *http.Request, p params) { s.pump(w, p, 0) }
func (s *Server) stderr(w http.ResponseWriter, r *http.Request, p params) { s.pump(w, p, 1) }

// pump sends a stream's raw bytes until the stream ends; an unknown or
// expired stream gets the header and an immediate close, as the reference
// (so does a second connection for the same stream and direction: each
// has one reader).
func (s *Server) pump(w http.ResponseWriter, p params, n int) {
	st, pp := s.streams.reader(p["streamid"], n)
	if pp != nil {
		defer pp.leave()
	}
	conn, brw, err := hijack(w, "200 OK", false)
	if err != nil {
		return
	}
	defer conn.Close()
	if st == nil {
		return
	}
	for {
		chunks, done := st.take(pp)
		if done {
			break
		}
		for _, b := range chunks {
			if _, err := brw.Write(b); err != nil {
				return
			}
		}
		// All that was waiting is written: flush, so bytes go out
		// promptly but large outputs go out in large writes.
		if err := brw.Flush(); err != nil {
			return
		}
	}
	s.streams.drained(st, pp)
}
