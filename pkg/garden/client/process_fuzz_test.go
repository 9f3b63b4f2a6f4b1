package client

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gdn-dev/gdn/pkg/garden"
)

// FuzzReadExit: the client's reading of the server's messages never
// panics, ends when a bounded input ends, and settles on what the first
// decisive message says: an error message is the error, an exit status
// the status; other messages are skipped; input that ends or stops
// decoding first is a decode error.
func FuzzReadExit(f *testing.F) {
	for _, s := range []string{
		`{"process_id":"p1","exit_status":0}`,
		`{"process_id":"p1","stream_id":"1"}` + "\n" + `{"process_id":"p1","exit_status":137}` + "\n",
		`{"process_id":"p1","error":"boom"}`,
		`{"exit_status":3,"error":"both"}`,
		`{"source":1,"data":"out"}{"tty":{}}{"exit_status":-1}`,
		`{"exit_status":null}{"exit_status":2}`,
		`{"exit_status":"0"}`, `{"exit_status":1e3}`, `{"exit_status":99999999999999999999}`,
		`{"error":"\ud800"}`, `{"process_id":"p1"}`, `{`, ``, `[]`, `{"Exit_Status":4}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		a, b := net.Pipe()
		defer b.Close()
		p := &process{conn: a, done: make(chan struct{})}
		go p.readExit(json.NewDecoder(bytes.NewReader(stream)))
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("readExit(%q) did not end with its input", stream)
		}
		if _, err := a.Write([]byte{0}); err == nil {
			t.Fatalf("readExit(%q) left the connection open", stream)
		}

		dec := json.NewDecoder(bytes.NewReader(stream))
		for {
			var m garden.ProcessPayload
			if err := dec.Decode(&m); err != nil {
				if p.err == nil || !strings.HasPrefix(p.err.Error(), "connection: decode failed: ") {
					t.Fatalf("readExit(%q) = %d, %v; want a decode error", stream, p.status, p.err)
				}
				return
			}
			if m.Error != nil {
				if p.err == nil || p.err.Error() != "connection: process error: "+*m.Error {
					t.Fatalf("readExit(%q) = %d, %v; want the error %q", stream, p.status, p.err, *m.Error)
				}
				return
			}
			if m.ExitStatus != nil {
				if p.err != nil || p.status != *m.ExitStatus {
					t.Fatalf("readExit(%q) = %d, %v; want status %d", stream, p.status, p.err, *m.ExitStatus)
				}
				return
			}
		}
	})
}

// chunkReader returns r's bytes in reads of the sizes sizes gives, in
// turn (0 counts as 1).
type chunkReader struct {
	data  []byte
	sizes []byte
	i     int
}

func (c *chunkReader) Read(b []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(c.sizes) > 0 {
		n = max(1, int(c.sizes[c.i%len(c.sizes)]))
		c.i++
	}
	n = copy(b[:min(n, len(b))], c.data)
	c.data = c.data[n:]
	return n, nil
}

// FuzzSendStdin: however stdin's reads cut it, the stdin messages carry
// its bytes in order, each invalid byte as U+FFFD (the JSON string rule)
// and no valid rune damaged, then one stdin-close message.
func FuzzSendStdin(f *testing.F) {
	f.Add([]byte("hello"), []byte{1})
	f.Add([]byte("€uro 😀 ok"), []byte{1, 2, 3})
	f.Add([]byte("\xe2\x82x\xf0\x9f\x98"), []byte{2, 1})
	f.Add([]byte("\xff\xfe\xfd"), []byte{})
	f.Add(bytes.Repeat([]byte("é"), 40000), []byte{255})
	f.Add([]byte{}, []byte{5})
	f.Fuzz(func(t *testing.T, stdin, sizes []byte) {
		var wire bytes.Buffer
		p := &process{id: "p1", enc: json.NewEncoder(&wire)}
		p.sendStdin(&chunkReader{data: stdin, sizes: sizes})
		dec := json.NewDecoder(&wire)
		var got strings.Builder
		closed := false
		for {
			var m garden.ProcessPayload
			if err := dec.Decode(&m); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("the client sent undecodable stdin messages: %v", err)
			}
			if closed {
				t.Fatalf("a message after the stdin close: %+v", m)
			}
			if m.ProcessID != "p1" || m.Source == nil || *m.Source != garden.StreamStdin {
				t.Fatalf("stdin message %+v", m)
			}
			if m.Data == nil {
				closed = true
				continue
			}
			if *m.Data == "" {
				t.Fatal("an empty stdin message")
			}
			got.WriteString(*m.Data)
		}
		if !closed {
			t.Fatal("no stdin-close message")
		}
		var want strings.Builder
		for s := string(stdin); len(s) > 0; {
			r, n := utf8.DecodeRuneInString(s)
			if r == utf8.RuneError && n == 1 {
				want.WriteRune(utf8.RuneError)
			} else {
				want.WriteString(s[:n])
			}
			s = s[n:]
		}
		if got.String() != want.String() {
			t.Fatalf("stdin %q read in sizes %v arrived as %q, want %q", stdin, sizes, got.String(), want.String())
		}
	})
}
