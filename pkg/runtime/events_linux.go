package runtime

import (
	"context"
	"fmt"
	"github.com/gdn-dev/gdn/pkg/pidfd"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
)

// Event is one line of a container's event stream.
type Event struct {
	// Type is "oom" (the kernel OOM-killed a process of the container),
	// "stats" (a periodic Stats sample) or "exit" (the init is gone; the
	// stream ends).
	Type   string    `json:"type"`
	Handle string    `json:"handle"`
	Time   time.Time `json:"time"`
	Stats  *Stats    `json:"stats,omitempty"`
}

// Stats samples container h's cgroup. Errors: errkind.ContainerNotFound.
func (r *Runtime) Stats(h string) (Stats, error) {
	c, err := r.load(h)
	if err != nil {
		return Stats{}, err
	}
	return r.stats(c)
}

func (r *Runtime) stats(c *libcontainer.Container) (Stats, error) {
	st, err := c.State()
	if err != nil {
		return Stats{}, fmt.Errorf("state of %q: %w", c.ID(), err)
	}
	ls, err := c.Stats()
	if err != nil {
		return Stats{}, fmt.Errorf("stats of %q: %w", c.ID(), err)
	}
	return statsFrom(c.ID(), st.Created, ls.CgroupStats, cgroups.IsCgroup2UnifiedMode()), nil
}

// Events streams container h's events to emit until the init exits, ctx
// ends, or emit fails. OOM events come from the kernel's memory cgroup
// notification (an eventfd on v1, memory.events on v2); with interval > 0
// a "stats" event is sent every interval. Errors: errkind.ContainerNotFound,
// errkind.ContainerNotRunning.
func (r *Runtime) Events(ctx context.Context, h string, interval time.Duration, emit func(Event) error) error {
	c, st, err := r.loadState(h)
	if err != nil {
		return err
	}
	fd, ok, err := pidfd.Open(st.InitProcessPid)
	if err != nil {
		return fmt.Errorf("watch init of %q: %w", h, err)
	}
	if status, _ := c.Status(); !ok || status == libcontainer.Stopped {
		return fmt.Errorf("container %q: %w", h, notRunning(libcontainer.ErrNotRunning))
	}
	defer fd.Close()
	oom, err := c.NotifyOOM()
	if err != nil {
		return fmt.Errorf("watch OOM of %q: %w", h, err)
	}
	exited := make(chan struct{})
	go func() {
		// waitExit returns at exit; the long timeout only bounds a
		// leaked goroutine in a long-running caller.
		for {
			if done, err := pidfd.Wait([]pidfd.FD{fd}, time.Hour); done || err != nil {
				close(exited)
				return
			}
		}
	}()
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, open := <-oom:
			if !open {
				oom = nil // the cgroup is gone; the exit follows
				continue
			}
			if err := emit(Event{Type: "oom", Handle: h, Time: time.Now()}); err != nil {
				return err
			}
		case <-tick:
			s, err := r.stats(c)
			if err != nil {
				continue
			}
			if err := emit(Event{Type: "stats", Handle: h, Time: time.Now(), Stats: &s}); err != nil {
				return err
			}
		case <-exited:
			return emit(Event{Type: "exit", Handle: h, Time: time.Now()})
		}
	}
}
