package dadoo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// StartResult is what the starter prints on stdout when the process runs.
type StartResult struct {
	Pid int `json:"pid"`
}

// runStarter runs the starter with spec on its stdin and files as fds 3,
// 4, ... and returns the started process's pid. The starter's error (its
// error JSON on stderr, in pkg/cli's form) keeps its kind. succeeded
// says the starter itself exited 0 (what it made exists), even when its
// answer is unusable.
func runStarter(argv []string, spec []byte, files []*os.File) (pid int, succeeded bool, err error) {
	if len(argv) == 0 {
		return 0, false, errors.New("no starter command")
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(spec)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.ExtraFiles = files
	if err := cmd.Run(); err != nil {
		return 0, false, starterError(err, stderr.Bytes())
	}
	var res StartResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || res.Pid <= 0 {
		return 0, true, fmt.Errorf("starter printed no pid: %q", stdout.String())
	}
	return res.Pid, true, nil
}

// starterError rebuilds the starter's error from its error JSON.
func starterError(runErr error, stderr []byte) error {
	var body struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	lines := bytes.Split(bytes.TrimSpace(stderr), []byte("\n"))
	if json.Unmarshal(lines[len(lines)-1], &body) != nil || body.Error.Message == "" {
		return fmt.Errorf("start process: %w: %s", runErr, bytes.TrimSpace(stderr))
	}
	if kind := errkind.Kind(body.Error.Type); kind != "" && kind != errkind.Internal {
		return fmt.Errorf("%s: %w", strings.TrimSuffix(body.Error.Message, ": "+string(kind)), kind)
	}
	return errors.New(body.Error.Message)
}
