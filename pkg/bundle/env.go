package bundle

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Env sets the init's environment to the image's env followed by the
// container's own env, Garden's order, so that the container's entries come
// later. Processes run in the container start from this list (and add
// their own), which is why it is checked here: an entry without "=" or
// with an empty name would reach every process.
type Env struct{}

// Apply implements Rule. An entry that is not NAME=VALUE with a non-empty
// NAME is errkind.InvalidSpec.
func (Env) Apply(spec *specs.Spec, d Desired) error {
	env := slices.Concat(d.ImageEnv, d.Env)
	for _, e := range env {
		if name, _, ok := strings.Cut(e, "="); !ok || name == "" {
			return fmt.Errorf("env entry %q is not NAME=VALUE: %w", e, errkind.InvalidSpec)
		}
	}
	processOf(spec).Env = env
	return nil
}
