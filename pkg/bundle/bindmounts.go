package bundle

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// BindMounts appends the caller's bind mounts, after every other mount so
// that they are visible on top of the image and the kernel file systems.
// The paths come from clients, so they are checked here: the source must be
// an absolute path that exists on the host, and the destination an
// absolute, clean path other than "/" and the init's mount point.
type BindMounts struct {
	// MountFlags reads the locked flags of a source's file system (see
	// bindOptions).
	MountFlags func(path string) ([]string, error)
}

// Apply implements Rule. Bad paths are errkind.InvalidSpec.
func (r BindMounts) Apply(spec *specs.Spec, d Desired) error {
	for _, bm := range d.BindMounts {
		if err := checkBindMount(bm); err != nil {
			return err
		}
		opts, err := bindOptions(r.MountFlags, bm.Source, bm.ReadOnly)
		if err != nil {
			return err
		}
		spec.Mounts = append(spec.Mounts, specs.Mount{
			Destination: bm.Destination, Type: "bind", Source: bm.Source, Options: opts,
		})
	}
	return nil
}

func checkBindMount(bm BindMount) error {
	if !filepath.IsAbs(bm.Source) {
		return fmt.Errorf("bind mount source %q is not an absolute path: %w", bm.Source, errkind.InvalidSpec)
	}
	if _, err := os.Stat(bm.Source); err != nil {
		return fmt.Errorf("bind mount source %q does not exist: %w", bm.Source, errkind.InvalidSpec)
	}
	dst := bm.Destination
	if !filepath.IsAbs(dst) || filepath.Clean(dst) != dst {
		return fmt.Errorf("bind mount destination %q is not an absolute clean path: %w", dst, errkind.InvalidSpec)
	}
	if dst == "/" || dst == InitMountPath {
		return fmt.Errorf("bind mount destination %q is reserved: %w", dst, errkind.InvalidSpec)
	}
	return nil
}

// bindOptions returns the options of a bind mount of src: "bind" (not
// "rbind", as in Guardian: mounts below src stay out of the container),
// "ro" or "rw", and the nodev/noexec/nosuid flags of src's own mount. The
// last matter in a user namespace: the kernel locks those flags on mounts
// inherited from the host, and the runtime's read-only remount fails with
// EPERM unless it repeats them.
func bindOptions(flags func(string) ([]string, error), src string, readOnly bool) ([]string, error) {
	mode := "rw"
	if readOnly {
		mode = "ro"
	}
	opts := []string{"bind", mode}
	if flags == nil {
		flags = statfsFlags
	}
	locked, err := flags(src)
	if err != nil {
		return nil, fmt.Errorf("mount flags of %q: %w", src, err)
	}
	return append(opts, locked...), nil
}
