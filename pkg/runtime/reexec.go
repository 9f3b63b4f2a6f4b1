package runtime

import (
	"os"

	"github.com/opencontainers/runc/libcontainer"
	// The device cgroup manager registers itself on import; without it
	// libcontainer refuses device rules.
	_ "github.com/opencontainers/cgroups/devices"
	// nsenter's C constructor does the namespace joining of "init" before
	// the Go runtime starts; it only acts when libcontainer re-executes us.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// initArg is the argument libcontainer re-executes /proc/self/exe with to
// run the container's bootstrap process.
const initArg = "init"

// HandleInit must be the first call in the main of every binary that uses
// this package. When the binary was re-executed by libcontainer as a
// container's bootstrap it finishes the container setup and execs the
// container process, never returning; otherwise it returns at once.
func HandleInit() {
	if len(os.Args) > 1 && os.Args[1] == initArg {
		libcontainer.Init()
	}
}
