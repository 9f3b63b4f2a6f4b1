package depot

import (
	"os"
	"path/filepath"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// The container's /etc/hosts and /etc/resolv.conf live in its bundle
// directory and are bind-mounted from there, as in Guardian's layout: the
// network is set up after the init has started (it needs the init's
// network namespace), so gdn-net --dns-dir rewrites these files in place
// once it knows the container's address and resolvers. Rewritten in place,
// they keep the owner given here: the container's root user, who may edit
// them (and its peas, which bind-mount the same files, see the edits).
const (
	HostsFile      = "hosts"
	ResolvConfFile = "resolv.conf"
)

// networkFileMounts returns the bind mounts of a bundle's network files.
func networkFileMounts(dir string) []specs.Mount {
	mount := func(name, dst string) specs.Mount {
		return specs.Mount{Destination: dst, Type: "bind", Source: filepath.Join(dir, name), Options: []string{"bind", "rw"}}
	}
	return []specs.Mount{mount(HostsFile, "/etc/hosts"), mount(ResolvConfFile, "/etc/resolv.conf")}
}

// writeNetworkFiles writes the placeholders a container sees until (or
// without) a network: its own name on loopback, and no resolvers. They
// belong to the host ids that container root has in spec.
func writeNetworkFiles(dir, h string, spec *specs.Spec) error {
	name := h
	if len(name) > hostnameLen {
		name = name[len(name)-hostnameLen:]
	}
	files := map[string]string{HostsFile: "127.0.0.1 localhost " + name + "\n", ResolvConfFile: ""}
	uid, gid := rootOwner(spec)
	for file, content := range files {
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
		// 0644 whatever the umask: every user of the container reads them.
		if err := os.Chmod(path, 0o644); err != nil {
			return err
		}
		if err := os.Chown(path, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// rootOwner returns the host uid and gid of container root: those its
// user namespace maps uid and gid 0 to, or host root without a user
// namespace. A root that the mappings leave out gets host root's files
// (it could not write them, as before).
func rootOwner(spec *specs.Spec) (uid, gid int) {
	if spec.Linux == nil {
		return 0, 0
	}
	return hostID(spec.Linux.UIDMappings), hostID(spec.Linux.GIDMappings)
}

// hostID maps container id 0 through ms (none: the same id).
func hostID(ms []specs.LinuxIDMapping) int {
	for _, m := range ms {
		if m.ContainerID == 0 && m.Size > 0 {
			return int(m.HostID)
		}
	}
	return 0
}

// hostnameLen is how much of a handle the hostname keeps (Guardian keeps
// the last 49 characters).
const hostnameLen = 49
