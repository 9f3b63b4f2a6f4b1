package network

import (
	"bufio"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
)

// DNSConfig is the operator's DNS settings (gdn-net's global flags).
type DNSConfig struct {
	// Servers replace the host's nameservers when set.
	Servers []string
	// Additional are appended to the nameservers.
	Additional []string
	// HostEntries are extra /etc/hosts lines, verbatim.
	HostEntries []string
}

// dnsServers follows Guardian's rule for a container's nameservers when
// none are configured (reference §5.7): the host's, less loopback ones;
// and if the host has only a loopback resolver (127.0.0.x), the gateway,
// where a resolver on the host is reachable from the container.
func dnsServers(resolvConf string, gateway netip.Addr) []string {
	f, err := os.Open(resolvConf)
	if err != nil {
		return []string{gateway.String()}
	}
	defer f.Close()
	var out []string
	loopback := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		ip, err := netip.ParseAddr(fields[1])
		if err != nil {
			continue
		}
		if ip.IsLoopback() {
			loopback = true
			continue
		}
		out = append(out, ip.String())
	}
	if len(out) == 0 && loopback {
		return []string{gateway.String()}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// Properties are gdn-net up's output properties for st: the contract's
// (see ContractUp), with the external IP.
func (n *Networker) Properties(st *State) map[string]string {
	props := map[string]string{
		"garden.network.container-ip": st.IP.String(),
		"garden.network.host-ip":      st.Gateway.String(),
		"garden.network.mapped-ports": mappedPorts(st),
	}
	if ext, err := n.externalIP(); err == nil {
		props["garden.network.external-ip"] = ext.String()
	}
	return props
}

// DNSServers are the nameservers for st's container: the configured
// ones, or the host's (Guardian's rule), then the additional ones.
func (n *Networker) DNSServers(st *State) []string {
	servers := n.cfg.DNS.Servers
	if len(servers) == 0 {
		servers = dnsServers("/etc/resolv.conf", st.Gateway)
	}
	return append(append([]string{}, servers...), n.cfg.DNS.Additional...)
}

// hostnameLen is how much of a handle the hostname keeps (Linux allows 64
// bytes; Guardian keeps the last 49 characters).
const hostnameLen = 49

// writeDNSFiles writes the container's hosts and resolv.conf into dir,
// for the bundle to bind-mount at /etc/hosts and /etc/resolv.conf.
func (n *Networker) writeDNSFiles(dir string, st *State) error {
	name := st.Handle
	if len(name) > hostnameLen {
		name = name[len(name)-hostnameLen:]
	}
	hosts := "127.0.0.1 localhost\n" + st.IP.String() + " " + name + "\n"
	for _, e := range n.cfg.DNS.HostEntries {
		hosts += e + "\n"
	}
	resolv := ""
	for _, s := range n.DNSServers(st) {
		resolv += "nameserver " + s + "\n"
	}
	if err := writeMounted(filepath.Join(dir, "hosts"), []byte(hosts)); err != nil {
		return err
	}
	return writeMounted(filepath.Join(dir, "resolv.conf"), []byte(resolv))
}

// writeMounted writes a file that a running container may already have
// bind-mounted (gdn-depot puts placeholders in the bundle and mounts them
// before the network exists). A rename would leave the mount on the old
// inode, so an existing file is rewritten in place, which also keeps its
// owner (gdn-depot gives the placeholders to container root, who may
// edit them); a new one is written atomically.
func writeMounted(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return atomicfile.WriteFile(path, data, 0o644)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
