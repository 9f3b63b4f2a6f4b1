package server

import (
	"container/list"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Output buffering for Run and Attach. The backend writes a process's
// output to a stream as it reads it (gardener.Output: writes must not
// block); the client's stdout and stderr connections, opened after the
// first message, take it from there. What any caller can make the server
// hold is bounded:
//   - A stream is registered (and numbered) only once Run or Attach has
//     succeeded: a failing call leaves nothing, as the reference numbers
//     streams on success only. An unregistered stream holds no buffer.
//   - Each of a stream's stdout and stderr holds at most streamBufferCap
//     unread bytes, and all streams together at most streamBudget. While
//     a connection is reading a pipe, a write that does not fit waits for
//     it to make room (up to streamStall): the process then writes no
//     faster than its client reads, as through any pipe, and a client
//     gets all of a large output. Without a reading connection (none yet,
//     gone, or stalled past streamStall), a write that does not fit is
//     dropped, so an absent client cannot stall the process (the
//     reference drops too, once its 4000-chunk channels are full).
//   - Live streams are as many as open Run/Attach connections. A finished
//     stream is forgotten, with what it still buffers, once both of its
//     connections have drained it, else after streamLinger (the
//     reference's minute, for connections that come late); at most
//     maxLingering finished streams wait, the oldest forgotten first.
const (
	streamStall     = 30 * time.Second
	streamBufferCap = 4 << 20
	streamBudget    = 256 << 20
	streamLinger    = time.Minute
	maxLingering    = 10000
)

// stream carries one Run/Attach's stdout and stderr to the connections
// that ask for them by stream id.
type stream struct {
	ss  *streams
	id  string
	out [2]pipe
	// lingering is the stream's place in ss.lingering once finished.
	lingering *list.Element
	timer     *time.Timer
}

// pipe is one direction's unread output.
type pipe struct {
	mu      sync.Mutex
	ready   sync.Cond // data came, or the pipe ended
	space   sync.Cond // a reader took what was buffered, or left
	chunks  [][]byte
	n       int // unread bytes in chunks
	ended   bool
	reader  bool // a connection has taken this pipe
	left    bool // that connection has stopped reading
	drained bool // its connection read it to the end
	dropped int
}

func (s *stream) stdout() pipeWriter { return pipeWriter{s, &s.out[0]} }
func (s *stream) stderr() pipeWriter { return pipeWriter{s, &s.out[1]} }

// pipeWriter buffers each write, or drops it when it does not fit.
type pipeWriter struct {
	s *stream
	p *pipe
}

func (w pipeWriter) Write(b []byte) (int, error) {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.full(len(b)) && p.reading() {
		stalled := false
		t := time.AfterFunc(streamStall, func() {
			p.mu.Lock()
			stalled = true
			p.space.Broadcast()
			p.mu.Unlock()
		})
		for p.full(len(b)) && p.reading() && !stalled {
			p.space.Wait()
		}
		t.Stop()
	}
	if p.ended || p.n+len(b) > streamBufferCap || !w.s.ss.reserve(len(b)) {
		p.dropped += len(b)
		return len(b), nil
	}
	p.chunks = append(p.chunks, append([]byte(nil), b...))
	p.n += len(b)
	p.ready.Broadcast()
	return len(b), nil
}

// full tells whether n more bytes exceed the pipe's cap (a single write
// larger than the cap goes into an empty pipe).
func (p *pipe) full(n int) bool { return p.n > 0 && p.n+n > streamBufferCap }

// reading tells whether a connection is reading the pipe now.
func (p *pipe) reading() bool { return p.reader && !p.left && !p.ended }

// take waits for output and returns all that is buffered; none and done
// means the pipe has ended and is empty.
func (s *stream) take(p *pipe) (chunks [][]byte, done bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.chunks) == 0 && !p.ended {
		p.ready.Wait()
	}
	chunks, n := p.chunks, p.n
	p.chunks, p.n = nil, 0
	s.ss.release(n)
	p.space.Broadcast()
	return chunks, len(chunks) == 0
}

// end stops both pipes: no write is kept after it, readers drain what is
// buffered and stop. discard also frees what is buffered.
func (s *stream) end(discard bool) (dropped int) {
	for i := range s.out {
		p := &s.out[i]
		p.mu.Lock()
		p.ended = true
		if discard {
			s.ss.release(p.n)
			p.chunks, p.n = nil, 0
		}
		dropped += p.dropped
		p.ready.Broadcast()
		p.space.Broadcast()
		p.mu.Unlock()
	}
	return dropped
}

// streams numbers streams with one counter for the whole server and finds
// them by id.
type streams struct {
	mu        sync.Mutex
	next      uint64
	m         map[string]*stream
	lingering *list.List // finished streams, oldest first
	// buffered counts the unread bytes of all streams. It has no lock of
	// its own so that writers, which hold a pipe's lock, never need
	// ss.mu (the order is ss.mu, then a pipe's).
	buffered atomic.Int64
	budget   int64         // streamBudget (tests lower it)
	linger   time.Duration // streamLinger (tests shorten it)
}

func newStreams() *streams {
	return &streams{m: map[string]*stream{}, lingering: list.New(), budget: streamBudget, linger: streamLinger}
}

// create returns a stream to hand to the backend; it is nobody's until
// register.
func (ss *streams) create() *stream {
	s := &stream{ss: ss}
	for i := range s.out {
		s.out[i].ready.L = &s.out[i].mu
		s.out[i].space.L = &s.out[i].mu
	}
	return s
}

// register numbers s and makes it findable; call it once the backend has
// the process.
func (ss *streams) register(s *stream) string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.next++
	s.id = strconv.FormatUint(ss.next, 10)
	ss.m[s.id] = s
	return s.id
}

// abandon ends a stream that was never registered (Run or Attach failed).
func (ss *streams) abandon(s *stream) { s.end(true) }

// finish ends s (no write comes after it) and lets it linger for late
// connections, unless both have drained it already. It returns the bytes
// dropped for want of room.
func (ss *streams) finish(s *stream) (dropped int) {
	dropped = s.end(false)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m[s.id] != s || s.lingering != nil {
		return dropped
	}
	if s.out[0].isDrained() && s.out[1].isDrained() {
		ss.forgetLocked(s)
		return dropped
	}
	for ss.lingering.Len() >= maxLingering {
		ss.forgetLocked(ss.lingering.Front().Value.(*stream))
	}
	s.lingering = ss.lingering.PushBack(s)
	s.timer = time.AfterFunc(ss.linger, func() { ss.forget(s) })
	return dropped
}

func (p *pipe) isDrained() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.drained
}

func (ss *streams) forget(s *stream) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.forgetLocked(s)
}

// forgetLocked drops s and what it buffers; ss.mu is held.
func (ss *streams) forgetLocked(s *stream) {
	if ss.m[s.id] == s {
		delete(ss.m, s.id)
	}
	if s.lingering != nil {
		ss.lingering.Remove(s.lingering)
		s.timer.Stop()
	}
	s.end(true)
}

// reader hands direction n (0 stdout, 1 stderr) of stream id to one
// connection; nil if the stream is unknown, expired or already read.
func (ss *streams) reader(id string, n int) (*stream, *pipe) {
	ss.mu.Lock()
	s := ss.m[id]
	ss.mu.Unlock()
	if s == nil {
		return nil, nil
	}
	p := &s.out[n]
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reader {
		return nil, nil
	}
	p.reader = true
	return s, p
}

// leave records that p's connection stopped reading (drained or not):
// writers waiting for room stop waiting.
func (p *pipe) leave() {
	p.mu.Lock()
	p.left = true
	p.space.Broadcast()
	p.mu.Unlock()
}

// drained records that p's connection read it to the end; a finished
// stream whose both pipes are drained is forgotten.
func (ss *streams) drained(s *stream, p *pipe) {
	p.mu.Lock()
	p.drained = true
	p.mu.Unlock()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s.lingering != nil && s.out[0].isDrained() && s.out[1].isDrained() {
		ss.forgetLocked(s)
	}
}

// reserve takes n bytes of the budget, if there are.
func (ss *streams) reserve(n int) bool {
	if ss.buffered.Add(int64(n)) > ss.budget {
		ss.buffered.Add(-int64(n))
		return false
	}
	return true
}

func (ss *streams) release(n int) { ss.buffered.Add(-int64(n)) }
