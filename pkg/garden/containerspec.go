// Package garden holds the Garden API's JSON types and errors: key names
// and defaults follow the reference client byte for byte (snake_case keys,
// omitempty where the reference has it, nested objects always present).
// It depends on no tool, so its client is light; pkg/garden/translate
// turns these requests into the tools' own.
package garden

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// ContainerSpec is the body of POST /containers: what a client asks for a
// new container.
type ContainerSpec struct {
	// Handle is the requested handle; empty lets the server choose one.
	Handle string `json:"handle,omitempty"`
	// GraceTime is the idle time after which the container is destroyed;
	// 0 means the server's default. It travels as nanoseconds.
	GraceTime time.Duration `json:"grace_time,omitempty"`
	// RootFSPath is the deprecated rootfs path or URI; it may not be given
	// together with Image.URI.
	RootFSPath string `json:"rootfs,omitempty"`
	// Image names the image and the registry credentials.
	Image ImageRef `json:"image"`
	// BindMounts are host paths to mount into the container.
	BindMounts []BindMount `json:"bind_mounts,omitempty"`
	// Network is "a.b.c.d/n" or "a.b.c.d"; empty allocates from the pool.
	Network string `json:"network,omitempty"`
	// Properties are the container's initial properties.
	Properties map[string]string `json:"properties,omitempty"`
	// Env is the environment of every process in the container (K=V).
	Env []string `json:"env,omitempty"`
	// Privileged means no user namespace: container root is host root.
	Privileged bool `json:"privileged,omitempty"`
	// Limits are the container's resource limits.
	Limits Limits `json:"limits"`
	// NetOut are firewall rules applied at create time. They are kept raw
	// until the network types exist.
	NetOut json.RawMessage `json:"netout_rules,omitempty"`
	// NetIn are port mappings applied at create time.
	NetIn []NetIn `json:"netin,omitempty"`
}

// ImageRef names a container image and the credentials to pull it.
type ImageRef struct {
	URI      string `json:"uri,omitempty"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

// BindMount mode and origin values, as the Garden API numbers them.
const (
	// BindMountModeRO mounts read-only; it is the default.
	BindMountModeRO uint8 = 0
	// BindMountModeRW mounts read-write.
	BindMountModeRW uint8 = 1
	// BindMountOriginHost means SrcPath is a host path; it is the default.
	BindMountOriginHost uint8 = 0
	// BindMountOriginContainer means SrcPath is inside the container.
	// Guardian ignores origin and so does gdn: SrcPath is always a host
	// path, validated as one.
	BindMountOriginContainer uint8 = 1
)

// BindMount mounts SrcPath at DstPath in the container.
type BindMount struct {
	SrcPath string `json:"src_path,omitempty"`
	DstPath string `json:"dst_path,omitempty"`
	Mode    uint8  `json:"mode,omitempty"`
	Origin  uint8  `json:"origin,omitempty"`
}

// Limits groups a container's limits; a zero field means no limit.
type Limits struct {
	Bandwidth BandwidthLimits `json:"bandwidth_limits"`
	CPU       CPULimits       `json:"cpu_limits"`
	Disk      DiskLimits      `json:"disk_limits"`
	Memory    MemoryLimits    `json:"memory_limits"`
	Pid       PidLimits       `json:"pid_limits"`
}

// BandwidthLimits limits the container's network traffic.
type BandwidthLimits struct {
	RateInBytesPerSecond      uint64 `json:"rate,omitempty"`
	BurstRateInBytesPerSecond uint64 `json:"burst,omitempty"`
}

// CPULimits sets the container's CPU weight. Weight wins when non-zero;
// LimitInShares is the older name for the same value.
type CPULimits struct {
	Weight        uint64 `json:"weight,omitempty"`
	LimitInShares uint64 `json:"limit_in_shares,omitempty"`
}

// Disk quota scopes.
const (
	// DiskLimitScopeTotal counts the image layers in the quota (default).
	DiskLimitScopeTotal uint8 = 0
	// DiskLimitScopeExclusive counts only what the container writes.
	DiskLimitScopeExclusive uint8 = 1
)

// DiskLimits is the disk quota passed to the image plugin; only ByteHard
// and Scope are used.
type DiskLimits struct {
	InodeSoft uint64 `json:"inode_soft,omitempty"`
	InodeHard uint64 `json:"inode_hard,omitempty"`
	ByteSoft  uint64 `json:"byte_soft,omitempty"`
	ByteHard  uint64 `json:"byte_hard,omitempty"`
	Scope     uint8  `json:"scope,omitempty"`
}

// MemoryLimits is the container's memory limit in bytes.
type MemoryLimits struct {
	LimitInBytes uint64 `json:"limit_in_bytes,omitempty"`
}

// PidLimits is the maximum number of processes in the container.
type PidLimits struct {
	Max uint64 `json:"max,omitempty"`
}

// NetIn maps HostPort on the host to ContainerPort in the container. Both
// keys are always present on the wire.
type NetIn struct {
	HostPort      uint32 `json:"host_port"`
	ContainerPort uint32 `json:"container_port"`
}

// ParseBindMount parses the command-line form SRC:DST[:ro|rw] of a host
// bind mount; the mode defaults to ro, Garden's default. Anything else is
// errkind.InvalidSpec.
func ParseBindMount(s string) (BindMount, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return BindMount{}, fmt.Errorf("bind mount %q is not SRC:DST[:ro|rw]: %w", s, errkind.InvalidSpec)
	}
	bm := BindMount{SrcPath: parts[0], DstPath: parts[1], Mode: BindMountModeRO, Origin: BindMountOriginHost}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
		case "rw":
			bm.Mode = BindMountModeRW
		default:
			return BindMount{}, fmt.Errorf("bind mount %q: mode must be ro or rw: %w", s, errkind.InvalidSpec)
		}
	}
	return bm, nil
}
