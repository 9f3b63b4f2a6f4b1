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
// once it knows the container's address and resolvers.
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
// without) a network: its own name on loopback, and no resolvers.
func writeNetworkFiles(dir, h string) error {
	name := h
	if len(name) > hostnameLen {
		name = name[len(name)-hostnameLen:]
	}
	if err := os.WriteFile(filepath.Join(dir, HostsFile), []byte("127.0.0.1 localhost "+name+"\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ResolvConfFile), nil, 0o644)
}

// hostnameLen is how much of a handle the hostname keeps (Guardian keeps
// the last 49 characters).
const hostnameLen = 49
