package port

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

func TestLeastRecentlyUsedFirst(t *testing.T) {
	p, err := NewPool(61001, 3)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := p.Acquire()
	b, _ := p.Acquire()
	if a != 61001 || b != 61002 {
		t.Fatalf("got %d %d, want 61001 61002", a, b)
	}
	p.Release(a)
	c, _ := p.Acquire()
	d, _ := p.Acquire()
	if c != 61003 || d != 61001 {
		t.Errorf("after releasing %d: got %d then %d; the released port must come last", a, c, d)
	}
	if _, err := p.Acquire(); errkind.Of(err) != errkind.PoolExhausted {
		t.Errorf("empty pool: %v, want PoolExhausted", err)
	}
	p.Release(70000) // outside: ignored
	p.Release(b)
	p.Release(b) // twice: once
	if len(p.Free) != 1 {
		t.Errorf("free %v, want only %d", p.Free, b)
	}
}

func TestRemoveAndBadRanges(t *testing.T) {
	p, _ := NewPool(100, 10)
	if !p.Remove(105) || p.Remove(105) || p.Remove(200) {
		t.Error("Remove must take a free port once and refuse others")
	}
	for _, r := range [][2]uint32{{0, 10}, {65530, 10}, {100, 0}} {
		if _, err := NewPool(r[0], r[1]); errkind.Of(err) != errkind.InvalidSpec {
			t.Errorf("NewPool(%d, %d): %v, want InvalidSpec", r[0], r[1], err)
		}
	}
}

func TestUpdateIsSerialised(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ports.json")
	var wg sync.WaitGroup
	got := make(chan uint32, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := Update(path, 61001, 100, nil, func(p *Pool) error {
				port, err := p.Acquire()
				got <- port
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(got)
	seen := map[uint32]bool{}
	for port := range got {
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
	}
	if len(seen) != 50 {
		t.Fatalf("%d distinct ports, want 50", len(seen))
	}
}

func TestUpdateRebuildsALostOrCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ports.json")
	rebuild := func(p *Pool) error {
		p.Remove(61001) // in use by a container
		return nil
	}
	take := func() uint32 {
		var port uint32
		err := Update(path, 61001, 3, rebuild, func(p *Pool) error {
			var err error
			port, err = p.Acquire()
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return port
	}
	if got := take(); got != 61002 {
		t.Fatalf("missing file: got port %d, want 61002 (61001 is in use)", got)
	}
	if err := os.WriteFile(path, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := take(); got != 61002 {
		t.Fatalf("corrupt file: got port %d, want 61002 again (the rebuild knows only 61001)", got)
	}
	if got := take(); got != 61003 {
		t.Fatalf("good file: got port %d, want 61003", got)
	}
}
