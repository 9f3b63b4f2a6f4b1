package depot

import (
	"fmt"
	"maps"
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
