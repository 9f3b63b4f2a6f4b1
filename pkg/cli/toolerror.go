package cli

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// ToolError is a failure reported by one of gdn's tools (or a plugin
// speaking their contract), decoded from the error JSON it printed on
// stderr. It wraps the tool's error kind, so errkind.Of works across the
// process boundary.
type ToolError struct {
	Tool string
	// Command is the tool's subcommand that failed ("create", "stats"),
	// when the caller knows it.
	Command string
	Kind    errkind.Kind
	Message string
}

func (e *ToolError) Error() string { return e.Message }

// Unwrap returns the kind, so errors.Is(err, errkind.ContainerNotFound)
// holds for a tool's ContainerNotFound.
func (e *ToolError) Unwrap() error { return e.Kind }

// ParseToolError turns what tool printed on stderr into a *ToolError: the
// last error JSON line if there is one (its message without the trailing
// ": Kind" that wrapping adds), or else the last non-empty line as an
// Internal error (a plugin that prints plain text). fallback is the
// message when stderr is empty.
func ParseToolError(tool string, stderr []byte, fallback string) *ToolError {
	lines := bytes.Split(bytes.TrimSpace(stderr), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		var body errorBody
		if json.Unmarshal(lines[i], &body) != nil || body.Error.Type == "" {
			continue
		}
		kind := errkind.Kind(body.Error.Type)
		msg := strings.TrimSuffix(body.Error.Message, ": "+body.Error.Type)
		return &ToolError{Tool: tool, Kind: kind, Message: msg}
	}
	msg := fallback
	if last := bytes.TrimSpace(lines[len(lines)-1]); len(last) > 0 {
		msg = string(last)
	}
	return &ToolError{Tool: tool, Kind: errkind.Internal, Message: tool + ": " + msg}
}
