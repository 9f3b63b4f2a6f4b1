package runtime

import (
	"fmt"
	"io"
	"os"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/moby/sys/user"
)

// lookupUser resolves a user name or uid[:gid] against the container's
// /etc/passwd and /etc/group, read through root (the init's root
// directory): os.Root refuses paths and symlinks that leave it, so a
// container cannot make us read a host file. Missing files are allowed:
// then only numeric users resolve, and root's home is "/".
func lookupUser(root *os.Root, spec string) (*user.ExecUser, error) {
	defaults := &user.ExecUser{Uid: 0, Gid: 0, Home: "/"}
	var files []io.Reader
	for _, name := range []string{"etc/passwd", "etc/group"} {
		f, err := root.Open(name)
		if err != nil {
			files = append(files, nil)
			continue
		}
		defer f.Close()
		files = append(files, f)
	}
	if spec == "" {
		spec = "0:0"
	}
	u, err := user.GetExecUser(spec, defaults, files[0], files[1])
	if err != nil {
		return nil, fmt.Errorf("user %q: %w: %w", spec, err, errkind.InvalidSpec)
	}
	return u, nil
}
