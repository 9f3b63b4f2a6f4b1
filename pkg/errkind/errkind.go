// Package errkind is gdn's one error vocabulary. Code wraps a Kind where the
// failure is known (fmt.Errorf("...: %w", errkind.ContainerNotFound)); the
// edges map a Kind exactly once: pkg/cli to an exit code and an error JSON,
// pkg/garden to an HTTP status and a Garden error body.
package errkind

import "errors"

// Kind names a class of failure. It implements error so that it can be
// wrapped with %w and found again with Of or errors.Is.
type Kind string

// Error returns the kind's name.
func (k Kind) Error() string { return string(k) }

// The kinds every tool may return. Names match the design brief; the
// comment says who returns each one.
const (
	// Internal is any failure that is not the caller's fault.
	Internal Kind = "Internal"
	// Usage is a malformed command line (unknown flag, missing argument),
	// or a tool run by a user who may not run it (not root).
	Usage Kind = "Usage"
	// InvalidHandle is a handle or process id outside the allowed pattern.
	InvalidHandle Kind = "InvalidHandle"
	// InvalidSpec is malformed or contradictory input: bad JSON, a bad
	// limit, a relative mount path, a missing rootfs.
	InvalidSpec Kind = "InvalidSpec"
	// ContainerNotFound: the handle names no container (depot or runtime).
	ContainerNotFound Kind = "ContainerNotFound"
	// HandleInUse: create of a handle that already exists.
	HandleInUse Kind = "HandleInUse"
	// PropertyNotFound: props get of a key that is not set.
	PropertyNotFound Kind = "PropertyNotFound"
	// ProcessNotFound: a process id unknown to the container.
	ProcessNotFound Kind = "ProcessNotFound"
	// ExecutableNotFound: the process's executable does not exist in the container.
	ExecutableNotFound Kind = "ExecutableNotFound"
	// ContainerNotRunning: the operation needs a live container init.
	ContainerNotRunning Kind = "ContainerNotRunning"
	// ImageNotFound: an image URI that resolves to nothing.
	ImageNotFound Kind = "ImageNotFound"
	// PoolExhausted: no subnet, IP or port left.
	PoolExhausted Kind = "PoolExhausted"
)

// All lists every kind, so that each mapping table can be tested for
// completeness.
var All = []Kind{
	Internal, Usage, InvalidHandle, InvalidSpec, ContainerNotFound, HandleInUse,
	PropertyNotFound, ProcessNotFound, ExecutableNotFound, ContainerNotRunning,
	ImageNotFound, PoolExhausted,
}

// Of returns the outermost Kind wrapped in err, or "" when err carries none
// (including err == nil).
func Of(err error) Kind {
	var k Kind
	if errors.As(err, &k) {
		return k
	}
	return ""
}
