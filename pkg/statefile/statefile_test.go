package statefile

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

type counter struct{ N int }

func load(data []byte) (*counter, error) {
	c := &counter{}
	if data != nil {
		if err := json.Unmarshal(data, c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func TestUpdatesAreSerialised(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Update(path, load, func(c *counter) error { c.N++; return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	b, _ := os.ReadFile(path)
	if string(b) != `{"N":20}` {
		t.Fatalf("after 20 updates: %s", b)
	}
}

func TestAFailedChangeWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(`{"N":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := Update(path, load, func(c *counter) error { c.N = 99; return boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if err := Update(path, func([]byte) (*counter, error) { return nil, boom }, func(*counter) error { return nil }); !errors.Is(err, boom) {
		t.Fatalf("a failing load: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != `{"N":1}` {
		t.Fatalf("the file changed: %s", b)
	}
}
