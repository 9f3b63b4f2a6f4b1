package runtime

import (
	"errors"

	"fmt"
	"github.com/opencontainers/runc/libcontainer"
	"strings"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// classifyStartError gives a kind to libcontainer's start errors. The
// failure happens in the container's bootstrap process and reaches us only
// as text, so matching the text is the one way to tell a missing executable
// from a broken container.
func classifyStartError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found"),
		strings.Contains(msg, "exec: ") && strings.Contains(msg, "no such file or directory"):
		return fmt.Errorf("%w: %w", err, errkind.ExecutableNotFound)
	}
	return err
}

// notRunning gives libcontainer's ErrNotRunning its kind.
func notRunning(err error) error {
	if errors.Is(err, libcontainer.ErrNotRunning) {
		return fmt.Errorf("%w: %w", err, errkind.ContainerNotRunning)
	}
	return err
}
