package bundle

import (
	"os"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// Device numbers of the two devices privileged containers may use beyond
// the runtime's defaults.
const (
	miscMajor = 10  // the "misc" character device major
	fuseMinor = 229 // /dev/fuse
	tunMinor  = 200 // /dev/net/tun
)

// Devices lets privileged containers use FUSE and TUN/TAP, as Guardian
// does (people run FUSE file systems and VPNs in them): it creates
// /dev/fuse (mode 0666) and allows both devices in the device cgroup. The
// runtime adds its usual allow-list (null, zero, tty, ...) itself.
// Unprivileged containers get only that default list.
type Devices struct{}

// Apply implements Rule.
func (Devices) Apply(spec *specs.Spec, d Desired) error {
	if !d.Privileged {
		return nil
	}
	mode := os.FileMode(0o666)
	var root uint32
	l := linuxOf(spec)
	l.Devices = append(l.Devices, specs.LinuxDevice{
		Path: "/dev/fuse", Type: "c", Major: miscMajor, Minor: fuseMinor, FileMode: &mode, UID: &root, GID: &root,
	})
	res := resourcesOf(spec)
	for _, minor := range []int64{fuseMinor, tunMinor} {
		major, minor := int64(miscMajor), minor
		res.Devices = append(res.Devices, specs.LinuxDeviceCgroup{
			Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "rwm",
		})
	}
	return nil
}
