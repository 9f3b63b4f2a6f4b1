package leakcheck

import (
	"fmt"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// mount is one line of /proc/self/mountinfo.
type mount struct {
	dev    string // major:minor, the same for every mount of one file system
	root   string // the path of the file system mounted here
	point  string
	fstype string
}

func readMountinfo() ([]mount, error) {
	infos, err := mountinfo.GetMounts(nil)
	if err != nil {
		return nil, fmt.Errorf("leakcheck: mountinfo: %w", err)
	}
	ms := make([]mount, 0, len(infos))
	for _, i := range infos {
		ms = append(ms, mount{dev: fmt.Sprintf("%d:%d", i.Major, i.Minor), root: i.Root, point: i.Mountpoint, fstype: i.FSType})
	}
	return ms, nil
}

// mounts reports mounts in the depot, the runtime root and the store but
// for those of excepted handles and the store's own mount.
func (c *check) mounts() error {
	if c.Depot == "" && c.RuntimeRoot == "" && c.Store == "" {
		return nil
	}
	ms, err := readMountinfo()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if h, ok := c.mountLeak(m.point); ok {
			c.add(KindMount, h, m.point+" ("+m.fstype+")")
		}
	}
	return nil
}

// mountLeak tells whether a mount at point is a leftover, and whose.
func (c *check) mountLeak(point string) (string, bool) {
	if c.Depot != "" {
		if rel, ok := under(c.Depot, point); ok && rel != "" {
			h := strings.SplitN(rel, "/", 2)[0]
			if h == ".trash" {
				return "", true
			}
			return h, !c.except[h]
		}
	}
	if c.RuntimeRoot != "" {
		if rel, ok := under(c.RuntimeRoot, point); ok && rel != "" {
			h := strings.SplitN(rel, "/", 2)[0]
			return h, !c.keep[h]
		}
	}
	if c.Store != "" {
		if rel, ok := under(c.Store, point); ok && rel != "" {
			parts := strings.SplitN(rel, "/", 3)
			if parts[0] == "volumes" && len(parts) >= 2 {
				return parts[1], !c.keepVolumes[parts[1]]
			}
			if parts[0] == "lowers" {
				return "", false // the store's, one per preloaded image, until clean
			}
			return "", true
		}
	}
	return "", false
}
