package stream

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/idmap"
	"golang.org/x/sys/unix"
)

// Out writes a tar archive of src inside t's root to w, reading as t's
// user. With a trailing "/" the archive holds the directory's contents
// (entries under "./"); without, one entry named after src's last
// component (and, for a directory, everything beneath it). A missing src
// is errkind.InvalidSpec.
func Out(t Target, src string, w io.Writer) error {
	return asUser(t, func() error {
		h, err := pathrs.OpenatInRoot(t.Root, src)
		if err != nil {
			return fmt.Errorf("source %q: %w: %w", src, tarErr("Cannot open", err), errkind.InvalidSpec)
		}
		defer h.Close()
		var st unix.Stat_t
		if err := unix.Fstat(int(h.Fd()), &st); err != nil {
			return fmt.Errorf("%q: %w", src, err)
		}
		tw := tar.NewWriter(w)
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		switch {
		case isDir:
			root, err := rootAt(h)
			if err != nil {
				return fmt.Errorf("%q: %w", src, err)
			}
			defer root.Close()
			name := path.Base(path.Clean("/" + src))
			if strings.HasSuffix(src, "/") || name == "/" {
				name = "."
			}
			err = addTree(tw, root, ".", name, idMaps{t.UIDMap, t.GIDMap})
			if err != nil {
				return fmt.Errorf("%q: %w", src, err)
			}
		case strings.HasSuffix(src, "/"):
			return fmt.Errorf("%q is not a directory: %w", src, errkind.InvalidSpec)
		default:
			if err := addFile(tw, h, path.Base(src), idMaps{t.UIDMap, t.GIDMap}); err != nil {
				return fmt.Errorf("%q: %w", src, err)
			}
		}
		return tw.Close()
	})
}

// addTree adds rel (a directory of root) as name, and everything under it.
func addTree(tw *tar.Writer, root *os.Root, rel, name string, ids idMaps) error {
	if err := addEntry(tw, root, rel, name, ids); err != nil {
		return err
	}
	d, err := root.Open(rel)
	if err != nil {
		return err
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return err
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, e := range entries {
		// Not path.Join: it would drop the "./" prefix of contents.
		childRel, childName := path.Join(rel, e.Name()), name+"/"+e.Name()
		if e.IsDir() {
			if err := addTree(tw, root, childRel, childName, ids); err != nil {
				return err
			}
			continue
		}
		if err := addEntry(tw, root, childRel, childName, ids); err != nil {
			return err
		}
	}
	return nil
}

// addEntry adds one file, directory or symlink of root; never follows
// symlinks.
func addEntry(tw *tar.Writer, root *os.Root, rel, name string, ids idMaps) error {
	st, err := root.Lstat(rel)
	if err != nil {
		return err
	}
	link := ""
	if st.Mode()&fs.ModeSymlink != 0 {
		if link, err = root.Readlink(rel); err != nil {
			return err
		}
	}
	if !st.Mode().IsRegular() && !st.IsDir() && link == "" {
		return nil // devices, sockets, FIFOs
	}
	hdr, err := tar.FileInfoHeader(st, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	ids.apply(hdr)
	if st.IsDir() && !strings.HasSuffix(hdr.Name, "/") {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return nil
	}
	f, err := root.Open(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// addFile adds the regular file behind handle h (an O_PATH handle) as name.
func addFile(tw *tar.Writer, h *os.File, name string, ids idMaps) error {
	f, err := pathrs.Reopen(h, unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("not a regular file or directory: %w", errkind.InvalidSpec)
	}
	hdr, err := tar.FileInfoHeader(st, "")
	if err != nil {
		return err
	}
	hdr.Name = name
	ids.apply(hdr)
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// idMaps records container ids, not host ids, in headers, and no names:
// FileInfoHeader looks names up in the host's files, which say nothing
// about the container's users.
type idMaps struct{ uid, gid []idmap.Mapping }

func (m idMaps) apply(hdr *tar.Header) {
	hdr.Uname, hdr.Gname = "", ""
	if id, ok := idmap.ToContainer(m.uid, uint32(hdr.Uid)); ok {
		hdr.Uid = int(id)
	} else {
		hdr.Uid = overflowID
	}
	if id, ok := idmap.ToContainer(m.gid, uint32(hdr.Gid)); ok {
		hdr.Gid = int(id)
	} else {
		hdr.Gid = overflowID
	}
}

// overflowID is what the kernel shows for an unmapped id ("nobody").
const overflowID = 65534
