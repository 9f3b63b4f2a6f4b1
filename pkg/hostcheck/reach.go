package hostcheck

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// Owner is what reachability needs to know of a path: its owner, group
// and mode.
type Owner struct {
	UID, GID uint32
	Mode     fs.FileMode
}

// Blocking returns the first of path's existing directories (from "/"
// down, path itself included when it exists) that uid/gid cannot search,
// or "" when every one lets it through. stat reports each directory, and
// false for one that does not exist: the walk stops there, as gdn's tools
// make what is missing themselves (0755). Access is decided by the mode
// bits alone, as for a process without capabilities: owner bits for the
// owner, group bits for the group, other bits for the rest.
func Blocking(path string, uid, gid uint32, stat func(string) (Owner, bool)) string {
	p := "/"
	parts := strings.Split(strings.Trim(filepath.Clean(path), "/"), "/")
	for i := -1; i < len(parts); i++ {
		if i >= 0 {
			if parts[i] == "" {
				continue
			}
			p = filepath.Join(p, parts[i])
		}
		o, exists := stat(p)
		if !exists {
			return ""
		}
		if !searchable(o, uid, gid) {
			return p
		}
	}
	return ""
}

func searchable(o Owner, uid, gid uint32) bool {
	m := o.Mode.Perm()
	switch {
	case o.UID == uid:
		return m&0o100 != 0
	case o.GID == gid:
		return m&0o010 != 0
	default:
		return m&0o001 != 0
	}
}

// blockedDetail words a directory that container root cannot search.
func blockedDetail(dir string, o Owner, uid uint32) string {
	return fmt.Sprintf("%s (mode %#o, uid %d) is not searchable by container root (uid %d)", dir, o.Mode.Perm(), o.UID, uid)
}
