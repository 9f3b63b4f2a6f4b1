package bundle

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// ociVersion is the spec version we declare. Our generator uses a newer
// runtime-spec module, but every field we set exists in 1.0.2, and
// runc 1.1.5 (which operators use to inspect and exec into our containers)
// declares 1.0.2 itself.
const ociVersion = "1.0.2"

// Base is the first rule: it checks the handle and the rootfs and sets what
// every container shares. The process runs as root in "/" without a
// terminal; the rootfs is writable (the image plugin gives each container
// its own layer) and its mounts are private, so that nothing mounted in
// the container propagates back to the host. The handle and creation time
// go in annotations, so that the bundle alone describes the container.
type Base struct{}

// Apply implements Rule. A handle outside the allowed pattern is
// errkind.InvalidHandle; a rootfs that is not an absolute path to an
// existing directory is errkind.InvalidSpec.
func (Base) Apply(spec *specs.Spec, d Desired) error {
	if err := handle.Validate(d.Handle); err != nil {
		return err
	}
	if !filepath.IsAbs(d.Rootfs) {
		return fmt.Errorf("rootfs %q is not an absolute path: %w", d.Rootfs, errkind.InvalidSpec)
	}
	if fi, err := os.Stat(d.Rootfs); err != nil || !fi.IsDir() {
		return fmt.Errorf("rootfs %q is not an existing directory: %w", d.Rootfs, errkind.InvalidSpec)
	}
	spec.Version = ociVersion
	p := processOf(spec)
	p.Cwd = "/"
	p.User = specs.User{UID: 0, GID: 0}
	p.Terminal = false
	spec.Root = &specs.Root{Path: d.Rootfs, Readonly: false}
	linuxOf(spec).RootfsPropagation = "private"
	if spec.Annotations == nil {
		spec.Annotations = map[string]string{}
	}
	spec.Annotations[AnnotationHandle] = d.Handle
	spec.Annotations[AnnotationCreated] = d.Created.UTC().Format(time.RFC3339Nano)
	return nil
}
