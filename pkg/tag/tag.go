// Package tag scopes the host-global names of one gdn instance, so that
// several instances (an operator's server, a test run) share a host
// without touching each other: the cgroup parent, the nftables table, the
// default state directories and the server's socket. The empty tag is
// the default instance and keeps the historical names.
//
// gdn-server takes --tag and hands it to every tool in the environment
// variable Env; a tool run by hand reads the same variable.
package tag

import (
	"fmt"
	"os"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// Env is the environment variable that carries the tag to the tools.
const Env = "GDN_TAG"

// MaxLen keeps scoped names short enough for their homes (an nftables
// table, a cgroup name, a path component).
const MaxLen = 16

// Pattern is the rule, as error messages show it (Validate checks it
// byte by byte: a compiled regexp costs every tool time at start).
const Pattern = `^[a-z0-9][a-z0-9_]{0,15}$`

// Validate returns an error wrapping errkind.InvalidSpec unless t is ""
// or 1 to MaxLen lower-case letters, digits and underscores (no dash,
// so that "gdn-a" and "gdn-a-b" can never be each other's prefix
// confusions, and no dot or slash, so it is safe in a path).
func Validate(t string) error {
	if t == "" || valid(t) {
		return nil
	}
	return fmt.Errorf("invalid tag %q: must match %s: %w", t, Pattern, errkind.InvalidSpec)
}

func valid(t string) bool {
	if len(t) > MaxLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' && i > 0) {
			return false
		}
	}
	return true
}

// FromEnv returns the tag in Env ("" when unset), validated.
func FromEnv() (string, error) {
	t := os.Getenv(Env)
	return t, Validate(t)
}

// Scoped returns name for the empty tag and name + "-" + t otherwise:
// "/garden" -> "/garden-ci", "gdn" -> "gdn-ci",
// "/var/lib/gdn" -> "/var/lib/gdn-ci".
func Scoped(name, t string) string {
	if t == "" {
		return name
	}
	return name + "-" + t
}
