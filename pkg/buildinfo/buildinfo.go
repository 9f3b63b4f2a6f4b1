// Package buildinfo says which build of gdn is running: the version a
// build stamps (go build -ldflags "-X github.com/gdn-dev/gdn/pkg/buildinfo.version=V"),
// else the VCS revision the Go toolchain records in every binary built
// from a checkout, else "unknown".
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// version is set by the linker (-X); empty in a plain go build.
var version string

// Info is what a binary knows of its build.
type Info struct {
	Version   string // the stamped version, or the revision (+"-dirty")
	Revision  string // VCS revision, "" if not recorded
	GoVersion string
}

// Read returns this binary's Info.
func Read() Info {
	info := Info{Version: version, GoVersion: runtime.Version()}
	dirty := false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if info.Version == "" && info.Revision != "" {
		info.Version = info.Revision[:min(12, len(info.Revision))]
		if dirty {
			info.Version += "-dirty"
		}
	}
	if info.Version == "" {
		info.Version = "unknown"
	}
	return info
}
