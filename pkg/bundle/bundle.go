package bundle

import (
	"fmt"
	"reflect"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// Desired is what a caller asks for one container. Only the image plugin's
// partial spec (Rootfs, ImageEnv, ImageMounts) and the Garden container spec
// feed it; host facts belong in Config.
type Desired struct {
	// Handle names the container; it must pass handle.Validate.
	Handle string
	// Rootfs is the absolute host path of the container's root directory.
	Rootfs string
	// ImageEnv is the image's environment, placed before Env.
	ImageEnv []string
	// ImageMounts are the image plugin's mounts, placed before all others.
	ImageMounts []specs.Mount
	// Env is the container's own environment (K=V entries).
	Env []string
	// BindMounts are host directories or files to mount into the container.
	BindMounts []BindMount
	// Privileged means no user namespace: container root is host root.
	Privileged bool
	// Limits are the container's cgroup limits; zero fields are unset.
	Limits Limits
	// Created is recorded in the spec's annotations.
	Created time.Time
}

// BindMount mounts the host path Source at Destination in the container.
type BindMount struct {
	Source      string
	Destination string
	ReadOnly    bool
}

// Limits are the cgroup limits of a container. Zero means no limit.
type Limits struct {
	// MemoryBytes is the memory limit (and the memory+swap limit).
	MemoryBytes uint64
	// CPUShares is the relative CPU weight in cgroup v1 shares (Garden:
	// weight if non-zero, else limit_in_shares). 1 is rejected.
	CPUShares uint64
	// PidsMax is the maximum number of tasks; negative is rejected.
	PidsMax int64
}

// Rule changes spec to reflect one aspect of d. A rule may assume that the
// rules before it in the list have run, and must not keep spec or d.
type Rule interface {
	Apply(spec *specs.Spec, d Desired) error
}

// RuleFunc adapts a plain function to Rule, for a rule without settings.
type RuleFunc func(spec *specs.Spec, d Desired) error

// Apply calls f(spec, d).
func (f RuleFunc) Apply(spec *specs.Spec, d Desired) error { return f(spec, d) }

// Generate applies rules in order to an empty spec and returns the result.
// The first error stops it; it is returned wrapped with the rule's name (the
// rule's Name method if it has one, else its type name), keeping the errkind
// the rule chose.
func Generate(d Desired, rules []Rule) (*specs.Spec, error) {
	spec := &specs.Spec{}
	for _, r := range rules {
		if err := r.Apply(spec, d); err != nil {
			return nil, fmt.Errorf("bundle rule %s: %w", ruleName(r), err)
		}
	}
	return spec, nil
}

// ruleName names r in errors.
func ruleName(r Rule) string {
	if n, ok := r.(interface{ Name() string }); ok {
		return n.Name()
	}
	t := reflect.TypeOf(r)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
