package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/version"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
)

// Exit statuses, one per class of error kind.
const (
	ExitInternal  = 1
	ExitUsage     = 2
	ExitNotFound  = 3
	ExitConflict  = 4
	ExitInvalid   = 5
	ExitExhausted = 6
)

// exitCodes is the one table that maps error kinds to exit statuses.
var exitCodes = map[errkind.Kind]int{
	errkind.Internal:            ExitInternal,
	errkind.Usage:               ExitUsage,
	errkind.InvalidHandle:       ExitInvalid,
	errkind.InvalidSpec:         ExitInvalid,
	errkind.ContainerNotFound:   ExitNotFound,
	errkind.PropertyNotFound:    ExitNotFound,
	errkind.ProcessNotFound:     ExitNotFound,
	errkind.ExecutableNotFound:  ExitNotFound,
	errkind.ImageNotFound:       ExitNotFound,
	errkind.HandleInUse:         ExitConflict,
	errkind.ContainerNotRunning: ExitConflict,
	errkind.PoolExhausted:       ExitExhausted,
}

// ExitCode returns the exit status for err: 0 for nil, the kind's status
// when err wraps a known kind, ExitInternal otherwise.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var st *ExitStatusError
	if errors.As(err, &st) {
		return st.Status
	}
	if code, ok := exitCodes[errkind.Of(err)]; ok {
		return code
	}
	return ExitInternal
}

// ExitStatusError makes a command exit with Status without printing
// anything: for commands that relay another program's exit status (exec
// --attach). It is not an error of the tool.
type ExitStatusError struct{ Status int }

func (e *ExitStatusError) Error() string { return fmt.Sprintf("exit status %d", e.Status) }

// errorBody is the JSON shape of an error on stderr.
type errorBody struct {
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// WriteError prints err on w: plain text when w is a terminal, the error
// JSON otherwise. Errors without a kind are reported as Internal.
func WriteError(w io.Writer, tool string, err error) {
	kind := errkind.Of(err)
	if kind == "" {
		kind = errkind.Internal
	}
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		fmt.Fprintf(w, "%s: %v\n", tool, err)
		return
	}
	var body errorBody
	body.Error.Type = string(kind)
	body.Error.Message = err.Error()
	_ = json.NewEncoder(w).Encode(body)
}

// Execute runs root and returns the process exit status, having printed any
// error on stderr. main does os.Exit(cli.Execute(root)) and nothing else.
// Every command of root needs root (uid 0) unless marked with AnyUser:
// run by anyone else it fails with errkind.Usage before any work. Usage
// errors (argument counts, flags, unknown commands) name the command's
// usage line.
func Execute(root *cobra.Command) int {
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError(cmd, fmt.Sprintf("%s: %v", cmd.CommandPath(), err))
	})
	addGlobalFlags(root)
	if root.Version == "" {
		root.Version = version.String()
	}
	// gen-man also gives every tool cobra's completion command, which
	// cobra adds only to a root with subcommands.
	root.AddCommand(manCommand(root))
	requireRoot(root, os.Geteuid)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	var st *ExitStatusError
	if !errors.As(err, &st) {
		if errkind.Of(err) == "" && isCobraUsage(err) {
			err = usageError(cmd, err.Error())
		}
		WriteError(os.Stderr, root.Name(), err)
	}
	return ExitCode(err)
}
