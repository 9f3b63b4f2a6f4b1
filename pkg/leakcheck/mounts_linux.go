package leakcheck

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// mount is one line of /proc/self/mountinfo.
type mount struct {
	dev    string // major:minor, the same for every mount of one file system
	root   string // the path of the file system mounted here
	point  string
	fstype string
}

func readMountinfo() ([]mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent dev root point options [optional...] - fstype source super
		fields := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		ms = append(ms, mount{dev: fields[2], root: unescape(fields[3]), point: unescape(fields[4]), fstype: fields[sep+1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("leakcheck: mountinfo: %w", err)
	}
	return ms, nil
}

// unescape undoes mountinfo's octal escapes (\040 for a space, ...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
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
			return "", true
		}
	}
	return "", false
}
