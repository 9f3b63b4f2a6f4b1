package leakcheck

import (
	"fmt"
	"os"
	"path"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// envHomes maps the tools' environment variables to the homes they set.
var envHomes = []struct {
	env  string
	home func(*Instance) *string
}{
	{"GDN_DEPOT", func(i *Instance) *string { return &i.Depot }},
	{"GDN_STORE", func(i *Instance) *string { return &i.Store }},
	{"GDN_RUNTIME_ROOT", func(i *Instance) *string { return &i.RuntimeRoot }},
	{"GDN_NET_STATE", func(i *Instance) *string { return &i.NetState }},
	{"GDN_NET_TABLE", func(i *Instance) *string { return &i.NftTable }},
}

// FromEnv returns the instance the tools would use in this environment:
// Defaults(t), with each home the tools take from an environment
// variable (GDN_DEPOT, GDN_STORE, GDN_RUNTIME_ROOT, GDN_NET_STATE,
// GDN_NET_TABLE) set from it when it is set.
func FromEnv(t string) (Instance, error) {
	inst, err := Defaults(t)
	if err != nil {
		return inst, err
	}
	for _, e := range envHomes {
		if v, ok := os.LookupEnv(e.env); ok && v != "" {
			*e.home(&inst) = v
		}
	}
	return inst, nil
}

// OwnedGlob returns an Owned function that takes the handles matching
// pattern (path.Match syntax); a malformed pattern is
// errkind.InvalidSpec.
func OwnedGlob(pattern string) (func(string) bool, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("handle pattern %q: %v: %w", pattern, err, errkind.InvalidSpec)
	}
	return func(h string) bool {
		ok, _ := path.Match(pattern, h)
		return ok
	}, nil
}
