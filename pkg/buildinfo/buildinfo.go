// Package buildinfo says which build of gdn is running: the version
// every tool prints (pkg/version), the VCS revision the Go toolchain
// records when it can, and the Go version.
package buildinfo

import (
	"runtime"
	"runtime/debug"

	"github.com/gdn-dev/gdn/pkg/version"
)

// Info is what a binary knows of its build.
type Info struct {
	Version   string // the stamped version, or the revision (+"-dirty")
	Revision  string // VCS revision, "" if not recorded
	GoVersion string
}

// Read returns this binary's Info.
func Read() Info {
	info := Info{Version: version.String(), GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				info.Revision = s.Value
			}
		}
	}
	return info
}
