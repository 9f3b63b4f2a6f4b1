package subnet

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"testing"
)

func bigPool(n int) *Pool {
	p, _ := NewPool(pfx("10.240.0.0/20"))
	for i := range n {
		s := pfx(fmt.Sprintf("10.240.%d.%d/30", i/64, i%64*4))
		p.Allocated[s] = []netip.Addr{s.Addr().Next().Next()}
	}
	p.Allocated[pfx("192.168.7.0/24")] = []netip.Addr{ip("192.168.7.2"), ip("192.168.7.9")}
	return p
}

func samePool(a, b *Pool) bool {
	return a.Dynamic == b.Dynamic && maps.EqualFunc(a.Allocated, b.Allocated, slices.Equal)
}

func TestPoolFileRoundTripsAndKeepsItsShape(t *testing.T) {
	p := bigPool(1000)
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := decodeCompact(data); !ok {
		t.Fatal("the fast path does not read what MarshalJSON writes")
	}
	// (a hand-edited pool may hold what gdn-net never makes)
	v6 := bigPool(3)
	v6.Allocated[netip.MustParsePrefix("fd00::/64")] = []netip.Addr{netip.MustParseAddr("fd00::2")}
	if data, err := json.Marshal(v6); err != nil || !json.Valid(data) {
		t.Fatalf("IPv6 subnet: %v %s", err, data)
	} else if back := new(Pool); back.UnmarshalJSON(data) != nil || !samePool(v6, back) {
		t.Fatalf("IPv6 subnet: round trip %s", data)
	}
	var back Pool
	if err := json.Unmarshal(data, &back); err != nil || !samePool(p, &back) {
		t.Fatalf("round trip: %v", err)
	}
	// The same shape as encoding/json's of the plain struct: jq and
	// older files see no difference.
	var plain poolJSON
	if err := json.Unmarshal(data, &plain); err != nil || !samePool(p, (*Pool)(&plain)) {
		t.Fatalf("encoding/json reads it differently: %v", err)
	}
}

func TestPoolFileReadsHandEditedJSON(t *testing.T) {
	edited := []byte(`{
  "allocated": {
    "10.253.0.8/30": [ "10.253.0.10" ],
    "10.253.0.0\/30": ["10.253.0.2"]
  },
  "dynamic": "10.253.0.0/22"
}`)
	var p Pool
	if err := p.UnmarshalJSON(edited); err != nil {
		t.Fatal(err)
	}
	want := &Pool{Dynamic: pfx("10.253.0.0/22"), Allocated: map[netip.Prefix][]netip.Addr{
		pfx("10.253.0.8/30"): {ip("10.253.0.10")}, pfx("10.253.0.0/30"): {ip("10.253.0.2")}}}
	if !samePool(&p, want) {
		t.Fatalf("got %+v", p)
	}
	for _, bad := range []string{"", "{garbage", `{"dynamic":"10.253.0.0/22","allocated":{"x":[]}}`, `{"dynamic":"10.253.0.0/22","allocated":{}}x`} {
		if err := new(Pool).UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzPoolFile checks the fast path against encoding/json: whatever it
// accepts, encoding/json accepts with the same result.
func FuzzPoolFile(f *testing.F) {
	small, _ := json.Marshal(bigPool(3))
	f.Add(small)
	f.Add([]byte(`{"dynamic":"10.0.0.0/30","allocated":{}}`))
	f.Add([]byte(`{"dynamic":"10.0.0.0/30","allocated":{"10.0.0.0/30":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeCompact(data)
		if !ok {
			return
		}
		var plain poolJSON
		if err := json.Unmarshal(data, &plain); err != nil {
			t.Fatalf("fast path accepts what encoding/json refuses (%v): %q", err, data)
		}
		if !samePool(&fast, (*Pool)(&plain)) {
			t.Fatalf("fast path reads %q differently", data)
		}
	})
}

func BenchmarkPoolFile(b *testing.B) {
	data, _ := json.Marshal(bigPool(1000))
	for b.Loop() {
		var p Pool
		if err := p.UnmarshalJSON(data); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(&p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPoolDecode(b *testing.B) {
	data, _ := json.Marshal(bigPool(1000))
	for b.Loop() {
		decodeCompact(data)
	}
}

func BenchmarkPoolEncode(b *testing.B) {
	p := bigPool(1000)
	for b.Loop() {
		p.MarshalJSON()
	}
}
