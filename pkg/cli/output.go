package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
)

// Global flag names, shared by every tool.
const (
	flagOutput  = "output"
	flagLogFile = "log-file"
	flagLogLvl  = "log-level"
)

// SetLogLevelDefault changes a tool's default --log-level (warn unless
// set): gdn-server, a daemon, logs its requests at info by default.
func SetLogLevelDefault(root *cobra.Command, level string) {
	addGlobalFlags(root)
	f := root.PersistentFlags().Lookup(flagLogLvl)
	f.DefValue = level
	_ = f.Value.Set(level) // not Changed: a --config file may still set it
}

func addGlobalFlags(root *cobra.Command) {
	pf := root.PersistentFlags()
	if pf.Lookup(flagOutput) == nil {
		pf.StringP(flagOutput, "o", "auto", "output format: auto (text on a terminal, JSON otherwise), json or text")
		pf.String(flagLogFile, "", "write structured JSON logs here instead of stderr")
		pf.String(flagLogLvl, "warn", "log level: debug, info, warn or error")
	}
}

// JSONOutput reports whether cmd's results go out as JSON: --output json,
// or --output auto with stdout not a terminal.
func JSONOutput(cmd *cobra.Command) bool {
	mode, _ := cmd.Flags().GetString(flagOutput)
	switch mode {
	case "json":
		return true
	case "text":
		return false
	}
	f, ok := cmd.OutOrStdout().(*os.File)
	return !ok || !isatty.IsTerminal(f.Fd())
}

// Print writes v as one JSON line, or calls human to write a readable form
// when the output is for a person. human may be nil: v is then written by
// WriteText, so every command has a text form.
func Print(cmd *cobra.Command, v any, human func(w io.Writer) error) error {
	w := cmd.OutOrStdout()
	if JSONOutput(cmd) {
		return json.NewEncoder(w).Encode(v)
	}
	if human == nil {
		return WriteText(w, v)
	}
	return human(w)
}

// DecodeStdin decodes one JSON value from cmd's stdin into v. It returns
// false, and leaves v alone, when stdin is a terminal, or empty and not a
// pipe (/dev/null), so that a command can fall back to its flags.
// Malformed JSON is errkind.InvalidSpec, and so is what a failed previous
// stage of a pipeline leaves: an empty pipe, or an error JSON (someone
// piped stderr too); both say so in one line (ErrNoInput), and no second,
// unrelated error follows. Callers read stdin only when flags do not
// already give the input, so a command never blocks on an inherited stdin
// it does not need.
func DecodeStdin(cmd *cobra.Command, v any) (bool, error) {
	in := cmd.InOrStdin()
	f, isFile := in.(*os.File)
	if isFile && isatty.IsTerminal(f.Fd()) {
		return false, nil
	}
	br := bufio.NewReader(in)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		if isFile && isPipe(f) {
			return false, fmt.Errorf("%w: %w", ErrNoInput, errkind.InvalidSpec)
		}
		return false, nil
	}
	var raw json.RawMessage
	if err := json.NewDecoder(br).Decode(&raw); err != nil {
		return false, fmt.Errorf("decode JSON on stdin: %v: %w", err, errkind.InvalidSpec)
	}
	if prev := previousError(raw); prev != "" {
		return false, fmt.Errorf("%w (%s): %w", ErrNoInput, prev, errkind.InvalidSpec)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("decode JSON on stdin: %v: %w", err, errkind.InvalidSpec)
	}
	return true, nil
}

// ErrNoInput is what DecodeStdin returns (wrapped, with
// errkind.InvalidSpec) for the input a failed pipeline stage leaves.
var ErrNoInput = errors.New("no input on stdin: the previous stage of the pipeline failed")

// isPipe reports whether f is a pipe (a FIFO): the previous stage of a
// shell pipeline, or a caller's exec.Cmd with an io.Reader as stdin.
func isPipe(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeNamedPipe != 0
}

// previousError returns "Type: message" when raw is a tool's error JSON,
// as WriteError prints it, and "" otherwise.
func previousError(raw json.RawMessage) string {
	var body errorBody
	var keys map[string]json.RawMessage
	if json.Unmarshal(raw, &keys) != nil || len(keys) != 1 || json.Unmarshal(raw, &body) != nil || body.Error.Type == "" {
		return ""
	}
	return body.Error.Type + ": " + strings.TrimSuffix(body.Error.Message, ": "+body.Error.Type)
}

// Logger returns the structured logger of cmd's tool: JSON lines on stderr
// or --log-file, at --log-level, with the given attributes (usually the
// handle) on every line. The caller closes nothing: a log file stays open
// until the process exits.
func Logger(cmd *cobra.Command, attrs ...any) *slog.Logger {
	var w io.Writer = os.Stderr
	if path, _ := cmd.Flags().GetString(flagLogFile); path != "" {
		if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
			w = f
		}
	}
	var lvl slog.Level
	name, _ := cmd.Flags().GetString(flagLogLvl)
	if err := lvl.UnmarshalText([]byte(name)); err != nil {
		lvl = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})
	return slog.New(h).With("tool", cmd.Root().Name()).With(attrs...)
}
