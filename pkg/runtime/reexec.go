package runtime

import (
	"encoding/json"
	"os"
	"strconv"

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
// container process, never returning; re-executed by gdn-run to compile a
// seccomp profile (seccompDump), it does that and exits; otherwise it
// returns at once.
func HandleInit() {
	if len(os.Args) > 1 && os.Args[1] == seccompDumpArg {
		seccompDump()
	}
	if len(os.Args) > 1 && os.Args[1] == initArg {
		if err := moveRootMount(); err != nil {
			initFailed(err)
		}
		if err := takeExecFilter(); err != nil {
			initFailed(err)
		}
		libcontainer.Init()
	}
}

// initFailed reports err on libcontainer's log pipe, which the parent
// relays to its log, and ends the init: the parent's start then fails.
func initFailed(err error) {
	if fd, perr := strconv.Atoi(os.Getenv("_LIBCONTAINER_LOGPIPE")); perr == nil {
		line, _ := json.Marshal(map[string]string{"level": "error", "msg": "gdn-run init: " + err.Error()})
		_, _ = os.NewFile(uintptr(fd), "logpipe").Write(append(line, '\n'))
	}
	os.Exit(1)
}
