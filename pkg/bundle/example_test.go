package bundle_test

import (
	"fmt"
	"strings"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// A caller composes rules of its own with the package's; Generate applies
// them in order. gdn-depot uses bundle.DefaultRules(cfg) instead.
func ExampleGenerate() {
	upper := bundle.RuleFunc(func(spec *specs.Spec, d bundle.Desired) error {
		spec.Hostname = strings.ToUpper(spec.Hostname)
		return nil
	})
	d := bundle.Desired{
		Handle:   "web-1",
		ImageEnv: []string{"PATH=/bin"},
		Env:      []string{"PORT=8080"},
	}
	spec, err := bundle.Generate(d, []bundle.Rule{bundle.Hostname{}, bundle.Env{}, upper})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(spec.Hostname, spec.Process.Env)

	_, err = bundle.Generate(bundle.Desired{Env: []string{"PORT"}}, []bundle.Rule{bundle.Env{}})
	fmt.Println(err)
	// Output:
	// WEB-1 [PATH=/bin PORT=8080]
	// bundle rule Env: env entry "PORT" is not NAME=VALUE: InvalidSpec
}
