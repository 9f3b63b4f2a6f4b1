package bundle

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Init makes gdn-init the container's pid 1. A container must outlive the
// processes run in it, and the image may have no init or no shell at all,
// so the init comes from the host: the static binary at Path is
// bind-mounted read-only at InitMountPath and run with no arguments (gdn-run
// adds the fds of the compiled seccomp filter it hands the init). It
// sleeps and lets the kernel reap orphans; all work arrives by exec.
type Init struct {
	// Path is the absolute host path of the init binary.
	Path string
	// MountFlags reads the locked flags of Path's file system (see
	// bindOptions).
	MountFlags func(path string) ([]string, error)
}

// Apply implements Rule. A Path that is not absolute or not an existing
// regular file is errkind.InvalidSpec.
func (r Init) Apply(spec *specs.Spec, d Desired) error {
	if !filepath.IsAbs(r.Path) {
		return fmt.Errorf("init binary %q is not an absolute path: %w", r.Path, errkind.InvalidSpec)
	}
	if fi, err := os.Stat(r.Path); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("init binary %q is not an existing file (build gdn-init or pass its path): %w", r.Path, errkind.InvalidSpec)
	}
	opts, err := bindOptions(r.MountFlags, r.Path, true)
	if err != nil {
		return err
	}
	spec.Mounts = append(spec.Mounts, specs.Mount{
		Destination: InitMountPath, Type: "bind", Source: r.Path, Options: opts,
	})
	processOf(spec).Args = []string{InitMountPath}
	return nil
}
