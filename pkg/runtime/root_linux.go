package runtime

import (
	"fmt"
	"os"
	"strconv"

	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// ContainerRoot is a handle on a running container's root directory, as
// its processes see it (through /proc/<init>/root, so with the mounts of
// its mount namespace), and the host ids of one of its users.
type ContainerRoot struct {
	Root   *os.File
	UID    int
	GID    int
	Groups []int
	// UIDMap and GIDMap are the container's id mappings (none when it
	// has no user namespace).
	UIDMap, GIDMap []idmap.Mapping
	// User is the user as the container sees it: its ids and its home
	// (from the container's /etc/passwd, "/" when it has none).
	User ContainerUser
	// Pid is the container's init, whose namespaces a helper joins to
	// act inside the container; UserNS says whether it has a user
	// namespace of its own (not when privileged).
	Pid    int
	UserNS bool
	// StartTime is the init's start time (field 22 of /proc/<pid>/stat),
	// to tell it from a later process that got its pid.
	StartTime uint64
	// Bounding is the init's bounding set (capability names): all a
	// process of the container can ever hold.
	Bounding []string
}

// ContainerUser is a user of a container in the container's own ids.
type ContainerUser struct {
	UID, GID int
	Groups   []int
	Home     string
}

// OpenRoot opens container h's root for work as user (a name from its
// /etc/passwd or uid[:gid]; root if empty). It works on stopped (Garden
// "stopped") containers: only the init must be alive. The caller closes
// Root. Errors: errkind.ContainerNotFound, errkind.ContainerNotRunning,
// errkind.InvalidSpec (unknown user).
func (r *Runtime) OpenRoot(h, user string) (*ContainerRoot, error) {
	st, err := r.loadRunning(h)
	if err != nil {
		return nil, err
	}
	path := "/proc/" + strconv.Itoa(st.InitProcessPid) + "/root"
	osRoot, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("root of %q: %w", h, err)
	}
	u, err := lookupUser(osRoot, user)
	osRoot.Close()
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", h, err)
	}
	cr := &ContainerRoot{
		User:      ContainerUser{UID: u.Uid, GID: u.Gid, Groups: u.Sgids, Home: u.Home},
		Pid:       st.InitProcessPid,
		StartTime: st.InitProcessStartTime,
		UserNS:    st.Config.Namespaces.Contains(configs.NEWUSER),
	}
	if st.Config.Capabilities != nil {
		cr.Bounding = st.Config.Capabilities.Bounding
	}
	if cr.UID, err = st.Config.HostUID(u.Uid); err != nil {
		return nil, fmt.Errorf("container %q: uid %d is not mapped: %w", h, u.Uid, err)
	}
	if cr.GID, err = st.Config.HostGID(u.Gid); err != nil {
		return nil, fmt.Errorf("container %q: gid %d is not mapped: %w", h, u.Gid, err)
	}
	for _, g := range u.Sgids {
		if hg, err := st.Config.HostGID(g); err == nil {
			cr.Groups = append(cr.Groups, hg)
		}
	}
	cr.UIDMap, cr.GIDMap = mappings(st.Config.UIDMappings), mappings(st.Config.GIDMappings)
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("root of %q: %w", h, err)
	}
	cr.Root = os.NewFile(uintptr(fd), path)
	return cr, nil
}

func mappings(ms []configs.IDMap) []idmap.Mapping {
	var out []idmap.Mapping
	for _, m := range ms {
		out = append(out, idmap.Mapping{ContainerID: uint32(m.ContainerID), HostID: uint32(m.HostID), Size: uint32(m.Size)})
	}
	return out
}
