package bundle

import "github.com/opencontainers/runtime-spec/specs-go"

// maxHostname is how many trailing characters of the handle become the
// hostname. Linux refuses hostnames over 64 bytes (HOST_NAME_MAX), and
// handles may be 76 characters, so some cut is needed. Guardian cuts to the
// last 49, staying well inside the limit (its code does not say why 49
// rather than 64); we keep 49 so that a container has the same hostname
// under gdn as under Guardian (Garden API reference §7.6). The tail is kept
// because handles that share a prefix differ at the end.
const maxHostname = 49

// Hostname names the container's UTS namespace after its handle, cut to
// its last maxHostname characters. Handles are ASCII, so characters are
// bytes.
type Hostname struct{}

// Apply implements Rule.
func (Hostname) Apply(spec *specs.Spec, d Desired) error {
	h := d.Handle
	if len(h) > maxHostname {
		h = h[len(h)-maxHostname:]
	}
	spec.Hostname = h
	return nil
}
