package network

import (
	"bufio"
	"net/netip"
	"os"
	"strings"
)

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

// Properties are the contract's output properties for st.
func (n *Networker) Properties(st *State) map[string]string {
	mapped := "[]"
	if b, err := jsonMarshal(st.MappedPorts); err == nil {
		mapped = string(b)
	}
	props := map[string]string{
		"garden.network.container-ip": st.IP.String(),
		"garden.network.host-ip":      st.Gateway.String(),
		"garden.network.mapped-ports": mapped,
	}
	if ext, err := n.externalIP(); err == nil {
		props["garden.network.external-ip"] = ext.String()
	}
	return props
}

// DNSServers are the nameservers for st's container.
func (n *Networker) DNSServers(st *State) []string {
	return dnsServers("/etc/resolv.conf", st.Gateway)
}
