package dadoo

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// SyncFD is the fd of the sync pipe in dadoo (the first ExtraFiles entry).
const SyncFD = 3

// syncMsg is the one line dadoo writes on the sync pipe.
type syncMsg struct {
	Pid   int        `json:"pid,omitempty"`
	Error *syncError `json:"error,omitempty"`
}

type syncError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// WriteSync writes the one sync message: the pid, or err.
func WriteSync(w io.Writer, pid int, err error) error {
	msg := syncMsg{Pid: pid}
	if err != nil {
		msg.Error = &syncError{Type: string(errkind.Of(err)), Message: err.Error()}
	}
	return json.NewEncoder(w).Encode(msg)
}

// ReadSync reads dadoo's sync message: the process's pid, or the error
// that kept it from starting, with its kind. EOF without a message means
// dadoo died.
func ReadSync(r io.Reader) (int, error) {
	var msg syncMsg
	if err := json.NewDecoder(r).Decode(&msg); err != nil {
		return 0, fmt.Errorf("dadoo exited before the process started: %w", err)
	}
	if msg.Error != nil {
		if kind := errkind.Kind(msg.Error.Type); kind != "" {
			// The message already ends with the kind's name.
			text := strings.TrimSuffix(msg.Error.Message, ": "+string(kind))
			return 0, fmt.Errorf("%s: %w", text, kind)
		}
		return 0, fmt.Errorf("%s", msg.Error.Message)
	}
	if msg.Pid <= 0 {
		return 0, fmt.Errorf("dadoo reported no pid")
	}
	return msg.Pid, nil
}
