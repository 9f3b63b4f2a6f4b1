package fetch

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progressEvery is how often a progress line is redrawn.
const progressEvery = 100 * time.Millisecond

// progress counts the bytes of one layer as they arrive and draws a line
// (bytes, total, rate) on a terminal: redrawn in place, finished with a
// newline.
type progress struct {
	w     io.Writer
	name  string
	total int64
	mu    sync.Mutex
	n     int64
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, name string, total int64) *progress {
	now := time.Now()
	return &progress{w: w, name: name, total: total, start: now, last: now}
}

// reader counts what passes through r.
func (p *progress) reader(r io.Reader) io.Reader {
	if p == nil || p.w == nil {
		return r
	}
	return readerFunc(func(b []byte) (int, error) {
		n, err := r.Read(b)
		p.add(int64(n))
		return n, err
	})
}

func (p *progress) add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += n
	if now := time.Now(); now.Sub(p.last) >= progressEvery {
		p.last = now
		p.draw("\r")
	}
}

// done draws the final line.
func (p *progress) done() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw("\r")
	fmt.Fprintln(p.w)
}

func (p *progress) draw(prefix string) {
	rate := float64(p.n) / time.Since(p.start).Seconds() / (1 << 20)
	total := "?"
	if p.total > 0 {
		total = fmt.Sprintf("%.1f MiB", float64(p.total)/(1<<20))
	}
	fmt.Fprintf(p.w, "%s%-19.19s %8.1f MiB / %s  %6.1f MiB/s", prefix, p.name, float64(p.n)/(1<<20), total, rate)
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }
