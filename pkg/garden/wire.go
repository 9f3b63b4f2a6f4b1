package garden

import (
	"net"
	"time"
)

// This file holds the Garden API's response and small request bodies
// (garden-api.md §3, §5.2). Key casing is part of the protocol: types
// without JSON tags marshal with PascalCase Go field names on purpose,
// because that is what the reference server emits.

// Properties are a container's string properties. As a List query they
// are filters that must all match.
type Properties map[string]string

// CreateResponse is the body of a successful POST /containers. The key is
// "Handle" (capital H).
type CreateResponse struct {
	Handle string
}

// ListResponse is the body of GET /containers. Handles must be an empty
// array, never null, when nothing matches.
type ListResponse struct {
	Handles []string
}

// StopRequest is the body of PUT /containers/:handle/stop. Kill is always
// sent, false included.
type StopRequest struct {
	Kill bool `json:"kill"`
}

// PropertyValue is the body of GET and PUT /containers/:handle/properties/:key.
type PropertyValue struct {
	Value string `json:"value"`
}

// Capacity is the body of GET /capacity.
type Capacity struct {
	MemoryInBytes          uint64 `json:"memory_in_bytes,omitempty"`
	DiskInBytes            uint64 `json:"disk_in_bytes,omitempty"`
	SchedulableDiskInBytes uint64 `json:"schedulable_disk_in_bytes,omitempty"`
	MaxContainers          uint64 `json:"max_containers,omitempty"`
}

// ContainerInfo is the body of GET /containers/:handle/info. It has no
// JSON tags: every key is the field name and is always present.
type ContainerInfo struct {
	// State is "active", or "stopped" after Stop.
	State string
	// Events are notable events such as "Out of memory"; may be null.
	Events []string
	// HostIP is the host side of the container's veth.
	HostIP        string
	ContainerIP   string
	ContainerIPv6 string
	// ExternalIP is the address that reaches MappedPorts.
	ExternalIP string
	// ContainerPath is the container's bundle directory.
	ContainerPath string
	// ProcessIDs is never filled by Guardian (always null).
	ProcessIDs []string
	// Properties are all properties, internal ones included.
	Properties Properties
	// MappedPorts are the net_in mappings; Guardian sends [] when none.
	MappedPorts []PortMapping
}

// PortMapping is one net_in mapping as reported in ContainerInfo (and in
// the garden.network.mapped-ports property). PascalCase keys.
type PortMapping struct {
	HostPort      uint32
	ContainerPort uint32
}

// ContainerInfoEntry is one value of the bulk_info response map, keyed by
// handle. Err is null on success.
type ContainerInfoEntry struct {
	Info ContainerInfo
	Err  *Error
}

// Metrics is the body of GET /containers/:handle/metrics. Top-level keys
// are PascalCase; NetworkStat is null unless network metrics are enabled.
type Metrics struct {
	MemoryStat  ContainerMemoryStat
	CPUStat     ContainerCPUStat
	DiskStat    ContainerDiskStat
	NetworkStat *ContainerNetworkStat
	PidStat     ContainerPidStat
	// Age is the time since creation, in nanoseconds on the wire.
	Age time.Duration
	// CPUEntitlement is shares × entitlement-per-share/100 × Age (ns).
	CPUEntitlement uint64
}

// ContainerMemoryStat mirrors the cgroup memory.stat counters. Every key is
// always present; all are snake_case except TotalUsageTowardLimit.
type ContainerMemoryStat struct {
	ActiveAnon              uint64 `json:"active_anon"`
	ActiveFile              uint64 `json:"active_file"`
	Cache                   uint64 `json:"cache"`
	HierarchicalMemoryLimit uint64 `json:"hierarchical_memory_limit"`
	InactiveAnon            uint64 `json:"inactive_anon"`
	InactiveFile            uint64 `json:"inactive_file"`
	MappedFile              uint64 `json:"mapped_file"`
	Pgfault                 uint64 `json:"pgfault"`
	Pgmajfault              uint64 `json:"pgmajfault"`
	Pgpgin                  uint64 `json:"pgpgin"`
	Pgpgout                 uint64 `json:"pgpgout"`
	Rss                     uint64 `json:"rss"`
	TotalActiveAnon         uint64 `json:"total_active_anon"`
	TotalActiveFile         uint64 `json:"total_active_file"`
	TotalCache              uint64 `json:"total_cache"`
	TotalInactiveAnon       uint64 `json:"total_inactive_anon"`
	TotalInactiveFile       uint64 `json:"total_inactive_file"`
	TotalMappedFile         uint64 `json:"total_mapped_file"`
	TotalPgfault            uint64 `json:"total_pgfault"`
	TotalPgmajfault         uint64 `json:"total_pgmajfault"`
	TotalPgpgin             uint64 `json:"total_pgpgin"`
	TotalPgpgout            uint64 `json:"total_pgpgout"`
	TotalRss                uint64 `json:"total_rss"`
	TotalUnevictable        uint64 `json:"total_unevictable"`
	Unevictable             uint64 `json:"unevictable"`
	Swap                    uint64 `json:"swap"`
	HierarchicalMemswLimit  uint64 `json:"hierarchical_memsw_limit"`
	TotalSwap               uint64 `json:"total_swap"`
	// TotalUsageTowardLimit is what counts against the memory limit:
	// v1 total_rss+total_cache+total_swap−total_inactive_file, v2
	// file+anon+swapcached−inactive_file, floored at 0. No tag, on purpose.
	TotalUsageTowardLimit uint64
	// Anon, File and SwapCached are the cgroup v2 counters.
	Anon       uint64 `json:"anon"`
	File       uint64 `json:"file"`
	SwapCached uint64 `json:"swapcached"`
}

// ContainerCPUStat is CPU time in nanoseconds.
type ContainerCPUStat struct {
	Usage  uint64
	User   uint64
	System uint64
}

// ContainerDiskStat is the image plugin's usage report; Guardian fills only
// the byte counters.
type ContainerDiskStat struct {
	TotalBytesUsed      uint64
	TotalInodesUsed     uint64
	ExclusiveBytesUsed  uint64
	ExclusiveInodesUsed uint64
}

// ContainerNetworkStat counts bytes through the container's interface.
type ContainerNetworkStat struct {
	RxBytes uint64
	TxBytes uint64
}

// ContainerPidStat is the cgroup's pids.current and pids.max (0 = no max).
type ContainerPidStat struct {
	Current uint64
	Max     uint64
}

// ContainerMetricsEntry is one value of the bulk_metrics response map,
// keyed by handle. Err is null on success.
type ContainerMetricsEntry struct {
	Metrics Metrics
	Err     *Error
}

// NetInRequest is the body of POST /containers/:handle/net/in. Every key
// is omitted when zero (host port 0 = take one from the pool, container
// port 0 = same as the host port); Handle is sent by the reference client
// and ignored by the server.
type NetInRequest struct {
	Handle        string `json:"handle,omitempty"`
	HostPort      uint32 `json:"host_port,omitempty"`
	ContainerPort uint32 `json:"container_port,omitempty"`
}

// NetInResponse is the body of a successful net/in: the ports actually
// mapped. Zero ports are omitted.
type NetInResponse struct {
	HostPort      uint32 `json:"host_port,omitempty"`
	ContainerPort uint32 `json:"container_port,omitempty"`
}

// Protocol is a NetOutRule's protocol number.
type Protocol uint8

// Protocols as the API numbers them. Guardian rejects ProtocolICMPv6.
const (
	ProtocolAll    Protocol = 0
	ProtocolTCP    Protocol = 1
	ProtocolUDP    Protocol = 2
	ProtocolICMP   Protocol = 3
	ProtocolICMPv6 Protocol = 4
)

// NetOutRule is one outbound firewall exception: the body of net/out, an
// element of the net/out/bulk array and of ContainerSpec.netout_rules.
type NetOutRule struct {
	// Protocol defaults to ProtocolAll.
	Protocol Protocol `json:"protocol,omitempty"`
	// Networks are destination ranges; empty means any destination.
	Networks []IPRange `json:"networks,omitempty"`
	// Ports are destination port ranges; only for TCP and UDP.
	Ports []PortRange `json:"ports,omitempty"`
	// ICMPs restricts ICMP type and code; only for ProtocolICMP.
	ICMPs *ICMPControl `json:"icmps,omitempty"`
	// Log logs new connections (TCP or all).
	Log bool `json:"log,omitempty"`
}

// IPRange is an inclusive range of addresses. net.IP marshals as its
// text form ("10.0.0.1", also for the 16-byte form of an IPv4 address),
// which is what the wire carries.
type IPRange struct {
	Start net.IP `json:"start,omitempty"`
	End   net.IP `json:"end,omitempty"`
}

// IPRangeFromIP is the range holding only ip.
func IPRangeFromIP(ip net.IP) IPRange { return IPRange{Start: ip, End: ip} }

// PortRange is an inclusive range of ports.
type PortRange struct {
	Start uint16 `json:"start,omitempty"`
	End   uint16 `json:"end,omitempty"`
}

// PortRangeFromPort is the range holding only port.
func PortRangeFromPort(port uint16) PortRange { return PortRange{Start: port, End: port} }

// ICMPControl selects an ICMP type and, optionally, a code. Type is always
// sent (0 is echo reply); a nil Code allows every code.
type ICMPControl struct {
	Type uint8  `json:"type"`
	Code *uint8 `json:"code,omitempty"`
}

// Signal is sent to a process on its Run/Attach connection.
type Signal int

// Signals as the API numbers them. Guardian sends SIGTERM or SIGKILL.
const (
	SignalTerminate Signal = 0
	SignalKill      Signal = 1
)

// Stream sources of a ProcessPayload. Only the client sends a source, and
// only StreamStdin; the server treats any present source as stdin.
const (
	StreamStdin  = 0
	StreamStdout = 1
	StreamStderr = 2
)

// ProcessPayload is one newline-delimited JSON message on a Run/Attach
// connection, in either direction (§5.2). The pointer fields are what make
// a message mean something: they are sent even when they point at zero
// (source 0, exit status 0, signal 0, an empty data string), and absent
// otherwise.
//
// Server to client: first {process_id, stream_id}, last {process_id,
// exit_status} or {process_id, error}.
// Client to server: stdin {process_id, source:0, data}, stdin EOF
// {process_id, source:0}, resize {process_id, tty}, {process_id, signal}.
type ProcessPayload struct {
	ProcessID  string   `json:"process_id,omitempty"`
	StreamID   string   `json:"stream_id,omitempty"`
	Source     *int     `json:"source,omitempty"`
	Data       *string  `json:"data,omitempty"`
	ExitStatus *int     `json:"exit_status,omitempty"`
	Error      *string  `json:"error,omitempty"`
	TTY        *TTYSpec `json:"tty,omitempty"`
	Signal     *Signal  `json:"signal,omitempty"`
}
