package hostcheck

import (
	"io/fs"
	"testing"
)

func TestBlocking(t *testing.T) {
	const uid = 4294967294
	tree := map[string]Owner{
		"/":           {0, 0, fs.ModeDir | 0o755},
		"/root":       {0, 0, fs.ModeDir | 0o700},
		"/var":        {0, 0, fs.ModeDir | 0o755},
		"/var/own":    {uid, 0, fs.ModeDir | 0o700},
		"/var/grp":    {0, uid, fs.ModeDir | 0o750},
		"/var/nogrp":  {0, uid, fs.ModeDir | 0o701},
		"/var/ownerx": {uid, 0, fs.ModeDir | 0o601},
	}
	stat := func(p string) (Owner, bool) { o, ok := tree[p]; return o, ok }
	for _, c := range []struct{ path, want string }{
		{"/var/lib/gdn/store", ""},          // stops at the first missing dir
		{"/root/gdn/store", "/root"},        // 0700 root's
		{"/root", "/root"},                  // the path itself
		{"/var/own/x", ""},                  // owner bits for the owner
		{"/var/grp/x", ""},                  // group bits for the group
		{"/var/nogrp/x", "/var/nogrp"},      // the group's bits win over other's
		{"/var/ownerx/x", "/var/ownerx"},    // the owner's bits win over other's
		{"/var//own/../../root/x", "/root"}, // cleaned first
	} {
		if got := Blocking(c.path, uid, uid, stat); got != c.want {
			t.Errorf("Blocking(%q) = %q, want %q", c.path, got, c.want)
		}
	}
}
