package depot

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

func TestProperties(t *testing.T) {
	d := newDepot(t)
	mustCreate(t, d, "c1", map[string]string{"a": "1"})
	if err := d.SetProperty("c1", "b", "2"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetProperty("c1", "a", "overwritten"); err != nil {
		t.Fatal(err)
	}
	if v, err := d.GetProperty("c1", "a"); v != "overwritten" || err != nil {
		t.Errorf("get a = %q, %v", v, err)
	}
	if err := d.RemoveProperty("c1", "b"); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveProperty("c1", "never-set"); err != nil {
		t.Errorf("removing a missing key: %v", err)
	}
	if _, err := d.GetProperty("c1", "b"); errkind.Of(err) != errkind.PropertyNotFound {
		t.Errorf("get removed key: %v", err)
	}
	if all, err := d.Properties("c1"); err != nil || !maps.Equal(all, map[string]string{"a": "overwritten"}) {
		t.Errorf("all = %v, %v", all, err)
	}
	if err := d.SetProperty("c1", "", "x"); errkind.Of(err) != errkind.InvalidSpec {
		t.Errorf("empty key: %v", err)
	}
	for name, err := range map[string]error{
		"get":    func() error { _, err := d.GetProperty("nope", "a"); return err }(),
		"set":    d.SetProperty("nope", "a", "b"),
		"remove": d.RemoveProperty("nope", "a"),
		"all":    func() error { _, err := d.Properties("nope"); return err }(),
	} {
		if errkind.Of(err) != errkind.ContainerNotFound {
			t.Errorf("%s on an unknown handle: %v", name, err)
		}
	}
}

func TestConcurrentSetsAllSurvive(t *testing.T) {
	d := newDepot(t)
	mustCreate(t, d, "c1", nil)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			// A separate Depot per goroutine, as separate processes would.
			other, err := New(Config{Dir: d.Dir()})
			if err == nil {
				err = other.SetProperty("c1", fmt.Sprintf("key-%d", i), fmt.Sprint(i))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := d.Properties("c1")
	if err != nil || len(all) != n {
		t.Fatalf("got %d properties (%v), want %d: %v", len(all), err, n, all)
	}
}

func TestSetRacingDestroy(t *testing.T) {
	d := newDepot(t)
	for round := range 20 {
		mustCreate(t, d, "c1", nil)
		var wg sync.WaitGroup
		wg.Go(func() {
			err := d.SetProperty("c1", "k", fmt.Sprint(round))
			if err != nil && errkind.Of(err) != errkind.ContainerNotFound {
				t.Errorf("set: %v", err)
			}
		})
		wg.Go(func() {
			if _, err := d.Destroy("c1"); err != nil {
				t.Errorf("destroy: %v", err)
			}
		})
		wg.Wait()
		if got := entries(t, d); len(got) != 0 {
			t.Fatalf("round %d left %v", round, got)
		}
	}
}

// Properties are validated with clear InvalidSpec errors: no NUL, a key
// not empty, at most MaxKeyBytes and MaxValueBytes, valid UTF-8. A value
// at the limit is stored whole.
func TestPropertyValidation(t *testing.T) {
	d := newDepot(t)
	mustCreate(t, d, "c1", nil)
	bad := map[string][2]string{
		"empty key":     {"", "v"},
		"NUL in key":    {"a\x00b", "v"},
		"NUL in value":  {"k", "a\x00b"},
		"long key":      {strings.Repeat("k", MaxKeyBytes+1), "v"},
		"long value":    {"k", strings.Repeat("v", MaxValueBytes+1)},
		"invalid UTF-8": {"k\xff", "v"},
		"invalid value": {"k", "\xfe"},
	}
	for name, kv := range bad {
		err := d.SetProperty("c1", kv[0], kv[1])
		if errkind.Of(err) != errkind.InvalidSpec || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want a one-line InvalidSpec", name, err)
		}
		if _, err := d.Create(context.Background(), "c2", testSpec("/r"), map[string]string{kv[0]: kv[1]}); errkind.Of(err) != errkind.InvalidSpec {
			t.Errorf("create with %s: %v, want InvalidSpec", name, err)
		}
	}
	if props, _ := d.Properties("c1"); len(props) != 0 {
		t.Errorf("a refused set stored %v", props)
	}
	big := strings.Repeat("x", MaxValueBytes)
	if err := d.SetProperty("c1", strings.Repeat("k", MaxKeyBytes), big); err != nil {
		t.Fatal(err)
	}
	if v, err := d.GetProperty("c1", strings.Repeat("k", MaxKeyBytes)); err != nil || v != big {
		t.Errorf("a value at the limit came back with %d bytes, %v", len(v), err)
	}
}
