package leakcheck

import (
	"errors"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

func TestDefaultsFollowTheTag(t *testing.T) {
	def, err := Defaults("")
	if err != nil || def.CgroupParent != "/garden" || def.NftTable != "gdn" || def.Depot != "/var/run/gdn/depot" ||
		def.Store != "/var/lib/gdn/store" || def.NetState != "/var/lib/gdn/net" || def.RuntimeRoot != "/run/runc" {
		t.Errorf("Defaults(\"\") = %+v, %v", def, err)
	}
	ci, err := Defaults("ci")
	if err != nil || ci.CgroupParent != "/garden-ci" || ci.NftTable != "gdn-ci" || ci.Depot != "/var/run/gdn/depot-ci" ||
		ci.Store != "/var/lib/gdn/store-ci" || ci.NetState != "/var/lib/gdn/net-ci" || ci.RuntimeRoot != "/run/runc-ci" {
		t.Errorf("Defaults(ci) = %+v, %v", ci, err)
	}
	if _, err := Defaults("Bad-Tag"); !errors.Is(err, errkind.InvalidSpec) {
		t.Errorf("a bad tag: %v, want InvalidSpec", err)
	}
}

func TestFromEnvTakesTheToolsVariables(t *testing.T) {
	t.Setenv("GDN_DEPOT", "/w/depot")
	t.Setenv("GDN_NET_TABLE", "tbl")
	inst, err := FromEnv("ci")
	if err != nil || inst.Depot != "/w/depot" || inst.NftTable != "tbl" || inst.CgroupParent != "/garden-ci" {
		t.Errorf("FromEnv = %+v, %v", inst, err)
	}
}

func TestOwnedGlob(t *testing.T) {
	owned, err := OwnedGlob("bats-*-42")
	if err != nil || !owned("bats-x-42") || owned("bats-x-43") || owned("c1") {
		t.Errorf("OwnedGlob: %v", err)
	}
	if _, err := OwnedGlob("[x"); !errors.Is(err, errkind.InvalidSpec) {
		t.Errorf("a bad pattern: %v, want InvalidSpec", err)
	}
}

func TestExceptCopies(t *testing.T) {
	base := Instance{}
	a := base.Except("a")
	b := a.Except("b")
	if base.except["a"] || !a.except["a"] || a.except["b"] || !b.except["a"] || !b.except["b"] {
		t.Errorf("Except shares its set: %v %v %v", base.except, a.except, b.except)
	}
}

func TestRelativePathsAreRefused(t *testing.T) {
	for _, inst := range []Instance{{Depot: "depot"}, {CgroupParent: "garden"}, {CgroupParent: "/"}} {
		if _, err := inst.Check(); !errors.Is(err, errkind.InvalidSpec) {
			t.Errorf("Check(%+v) accepted it", inst)
		}
	}
}

func TestUnder(t *testing.T) {
	for _, tc := range []struct {
		dir, path, rel string
		ok             bool
	}{
		{"/a", "/a", "", true},
		{"/a", "/a/b/c", "b/c", true},
		{"/a", "/ab", "", false},
		{"/", "/x", "x", true},
	} {
		if rel, ok := under(tc.dir, tc.path); rel != tc.rel || ok != tc.ok {
			t.Errorf("under(%q, %q) = %q, %v", tc.dir, tc.path, rel, ok)
		}
	}
}
