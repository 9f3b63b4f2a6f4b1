package server

import (
	"sync"
	"time"
)

// reaper destroys containers left idle for their grace time. Every
// container request pauses a container's countdown while it runs and
// restarts the full countdown when the last one ends; Run and Attach keep
// it paused for as long as their connection is open. The countdown is not
// persisted: after a restart it starts again from the full value.
type reaper struct {
	mu      sync.Mutex
	bombs   map[string]*bomb
	destroy func(h string)
}

type bomb struct {
	grace  time.Duration
	pauses int
	timer  *time.Timer
}

func newReaper(destroy func(string)) *reaper {
	return &reaper{bombs: map[string]*bomb{}, destroy: destroy}
}

// arm sets h's grace time and starts a fresh countdown (unless paused).
// 0 means never reap.
func (r *reaper) arm(h string, grace time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.bombOf(h)
	b.grace = grace
	r.restart(h, b)
}

// bombOf returns h's bomb, made if missing; r.mu is held.
func (r *reaper) bombOf(h string) *bomb {
	b := r.bombs[h]
	if b == nil {
		b = &bomb{}
		r.bombs[h] = b
	}
	return b
}

func (r *reaper) restart(h string, b *bomb) {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if b.grace <= 0 || b.pauses > 0 {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(b.grace, func() {
		r.mu.Lock()
		fire := r.bombs[h] == b && b.timer == t
		if fire {
			delete(r.bombs, h)
		}
		r.mu.Unlock()
		if fire {
			r.destroy(h)
		}
	})
	b.timer = t
}

// pause holds h's countdown; the returned func releases the hold.
func (r *reaper) pause(h string) (resume func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.bombOf(h)
	b.pauses++
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.bombs[h] != b {
				return
			}
			if b.pauses--; b.pauses == 0 {
				r.restart(h, b)
			}
		})
	}
}

// remove forgets h (it is being destroyed).
func (r *reaper) remove(h string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.bombs[h]; b != nil && b.timer != nil {
		b.timer.Stop()
	}
	delete(r.bombs, h)
}
