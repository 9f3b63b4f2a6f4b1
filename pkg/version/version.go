// Package version holds the version every gdn tool prints with --version.
//
// make build stamps Version with the linker:
//
//	go build -ldflags "-X github.com/gdn-dev/gdn/pkg/version.Version=$(git describe --always --dirty)"
//
// A binary built any other way (go build, go install, go test) falls back
// to what the Go toolchain recorded in it: the module version, or the VCS
// revision with "-dirty" when the tree had changes.
package version

import (
	"runtime/debug"
	"sync"
)

// Version is set at link time by make build; empty otherwise.
var Version string

// unknown is the version of a binary that carries no stamp and no build
// information (e.g. a test binary built outside a VCS checkout).
const unknown = "unknown"

var fallback = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return unknown
	}
	return fromBuildInfo(bi)
})

// String returns the stamped Version, or the fallback read from the
// binary's build information; never empty.
func String() string {
	if Version != "" {
		return Version
	}
	return fallback()
}

// fromBuildInfo picks the best version bi records: a real module version
// (go install ...@v1.2.3), else the VCS revision (shortened as git describe
// does), marked -dirty when the tree was modified, else "unknown".
func fromBuildInfo(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return unknown
	}
	if len(rev) > shortRev {
		rev = rev[:shortRev]
	}
	return rev + dirty
}

// shortRev is the length of an abbreviated commit id, as git describe
// --always prints one by default.
const shortRev = 7

// Revision is the VCS revision the Go toolchain recorded in the binary,
// "" when it recorded none (a build with -buildvcs=false, as here).
func Revision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			return s.Value
		}
	}
	return ""
}
