package server

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// streamChunks is how many output writes a stream holds for a client that
// has not connected (or keeps up) yet, as the reference does; writes that
// do not fit are dropped rather than stall the process.
const streamChunks = 4000

// streamLinger is how long a finished stream stays for late connections.
const streamLinger = time.Minute

// stream carries one Run/Attach's stdout and stderr to the connections
// that ask for them by stream id.
type stream struct {
	out  [2]chan []byte
	once sync.Once
}

func (s *stream) stdout() chanWriter { return chanWriter{s.out[0]} }
func (s *stream) stderr() chanWriter { return chanWriter{s.out[1]} }

// end closes both channels; readers drain what is buffered and stop. The
// caller guarantees no write happens after end.
func (s *stream) end() {
	s.once.Do(func() { close(s.out[0]); close(s.out[1]) })
}

// chanWriter copies each write into a channel, dropping it when full.
type chanWriter struct{ c chan []byte }

func (w chanWriter) Write(b []byte) (int, error) {
	select {
	case w.c <- append([]byte(nil), b...):
	default:
	}
	return len(b), nil
}

// streams numbers streams with one counter for the whole server and finds
// them by id.
type streams struct {
	next atomic.Uint64
	mu   sync.Mutex
	m    map[string]*stream
}

func newStreams() *streams { return &streams{m: map[string]*stream{}} }

func (ss *streams) create() (string, *stream) {
	id := strconv.FormatUint(ss.next.Add(1), 10)
	s := &stream{out: [2]chan []byte{make(chan []byte, streamChunks), make(chan []byte, streamChunks)}}
	ss.mu.Lock()
	ss.m[id] = s
	ss.mu.Unlock()
	return id, s
}

// finish ends s and forgets it after streamLinger.
func (ss *streams) finish(id string, s *stream) {
	s.end()
	time.AfterFunc(streamLinger, func() {
		ss.mu.Lock()
		delete(ss.m, id)
		ss.mu.Unlock()
	})
}

func (ss *streams) get(id string) *stream {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.m[id]
}
