package cli

import (
	"fmt"
	"strings"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/spf13/cobra"
)

// ManyArgs is the upper bound a command passes to RangeArgs or HandleArgs
// when it takes any number of arguments from lo on (exec's command line).
const ManyArgs = 1 << 16

// ExactArgs is cobra.ExactArgs with the error wrapped as errkind.Usage and
// naming the command's usage line.
func ExactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError(cmd, fmt.Sprintf("%s takes %s, got %d", cmd.CommandPath(), plural(n, "argument"), len(args)))
		}
		return nil
	}
}

// RangeArgs is cobra.RangeArgs with the error wrapped as errkind.Usage and
// naming the command's usage line. hi >= 65536 means "no upper bound".
func RangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= lo && len(args) <= hi {
			return nil
		}
		want := fmt.Sprintf("%d to %d arguments", lo, hi)
		switch {
		case hi >= ManyArgs:
			want = "at least " + plural(lo, "argument")
		case lo == hi:
			want = plural(lo, "argument")
		}
		return usageError(cmd, fmt.Sprintf("%s takes %s, got %d", cmd.CommandPath(), want, len(args)))
	}
}

// usageError is a command-line mistake in cmd: one line with what is wrong
// and the command's usage line ("gdn-run kill HANDLE [SIGNAL] [flags]"),
// wrapped as errkind.Usage.
func usageError(cmd *cobra.Command, what string) error {
	use := strings.TrimSpace(cmd.UseLine())
	if !cmd.Runnable() && cmd.HasAvailableSubCommands() {
		use = cmd.CommandPath() + " COMMAND [flags]; " + cmd.CommandPath() + " --help lists the commands"
	}
	return fmt.Errorf("%s (usage: %s): %w", what, use, errkind.Usage)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// HandleArgs accepts between lo and hi arguments and validates the first
// one, if present, as a handle, so that an invalid handle is rejected
// before any work.
func HandleArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := RangeArgs(lo, hi)(cmd, args); err != nil {
			return err
		}
		if len(args) > 0 {
			return handle.Validate(args[0])
		}
		return nil
	}
}

// isCobraUsage reports whether err is one of cobra's own command-line
// errors, which carry no kind.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
