package network

import (
	"github.com/gdn-dev/gdn/pkg/network/link"
)

// The network plugin contract's JSON (reference guardian-internals §4.2),
// key for key and in the order Guardian and garden-external-networker
// marshal it, so that our output is byte for byte what a plugin prints.

// UpInput is the body of `up`: {"Pid","Properties","netout_rules",
// "netin"}. Keys match case-insensitively when decoding, so gdn-run
// create's {"handle","pid"} decodes too. Handle, Network (Garden's
// ContainerSpec.network) and Limits (ContainerSpec.limits, of which
// bandwidth_limits is used) are our additions; Guardian sends none of
// them, and they are left out when empty.
type UpInput struct {
	Pid        int               `json:"Pid"`
	Properties map[string]string `json:"Properties"`
	NetOut     []NetOutRule      `json:"netout_rules,omitempty"`
	NetIn      []NetInRequest    `json:"netin,omitempty"`
	Handle     string            `json:"handle,omitempty"`
	Network    string            `json:"network,omitempty"`
	Limits     *Limits           `json:"limits,omitempty"`
}

// Limits is the part of Garden's ContainerSpec.limits gdn-net enforces.
type Limits struct {
	// Bandwidth is Garden's BandwidthLimits: {"rate":bytes/s,"burst":bytes}.
	Bandwidth *link.Bandwidth `json:"bandwidth_limits,omitempty"`
}

// NetInRequest is Garden's NetIn as the contract's up carries it.
type NetInRequest struct {
	HostPort      uint32 `json:"host_port"`
	ContainerPort uint32 `json:"container_port"`
}

// UpOutput is the answer to `up`.
type UpOutput struct {
	Properties    UpProperties `json:"properties"`
	DNSServers    []string     `json:"dns_servers"`
	SearchDomains []string     `json:"search_domains"`
}

// UpProperties are the properties `up` returns, which Guardian stores in
// the container's property bag. The first four are the reference's, in
// its order; ExternalIP is gdn-net's one addition, after them (Guardian
// sets that property itself, gdn-server takes it from here).
type UpProperties struct {
	ContainerIP string `json:"garden.network.container-ip"`
	HostIP      string `json:"garden.network.host-ip"`
	// MappedPorts is JSON in a string: [{"HostPort":h,"ContainerPort":c}].
	MappedPorts string `json:"garden.network.mapped-ports"`
	// Interface is the container's end of its veth.
	Interface  string `json:"garden.network.interface"`
	ExternalIP string `json:"garden.network.external-ip,omitempty"`
}

// NetInInput is the body of `net-in`.
type NetInInput struct {
	HostIP        string `json:"HostIP"`
	HostPort      uint32 `json:"HostPort"`
	ContainerIP   string `json:"ContainerIP"`
	ContainerPort uint32 `json:"ContainerPort"`
}

// NetInOutput is the answer to `net-in`.
type NetInOutput struct {
	HostPort      uint32 `json:"host_port"`
	ContainerPort uint32 `json:"container_port"`
}

// NetOutInput is the body of `net-out` (Rule) and `bulk-net-out` (Rules).
type NetOutInput struct {
	ContainerIP string       `json:"container_ip"`
	Rule        *NetOutRule  `json:"netout_rule,omitempty"`
	Rules       []NetOutRule `json:"netout_rules,omitempty"`
}

// ContractUp is the contract's answer to `up` for st: no search domains
// (an empty list, which leaves the host's search line alone).
func (n *Networker) ContractUp(st *State) UpOutput {
	ext := ""
	if ip, err := n.externalIP(); err == nil {
		ext = ip.String()
	}
	return UpOutput{
		Properties: UpProperties{
			ContainerIP: st.IP.String(),
			HostIP:      st.Gateway.String(),
			MappedPorts: mappedPorts(st),
			Interface:   st.ContainerIf,
			ExternalIP:  ext,
		},
		DNSServers:    n.DNSServers(st),
		SearchDomains: []string{},
	}
}

func mappedPorts(st *State) string {
	if b, err := jsonMarshal(st.MappedPorts); err == nil {
		return string(b)
	}
	return "[]"
}
