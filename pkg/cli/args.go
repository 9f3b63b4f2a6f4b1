package cli

import (
	"fmt"
	"strings"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/spf13/cobra"
)

// ExactArgs is cobra.ExactArgs with the error wrapped as errkind.Usage.
func ExactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s takes %d argument(s), got %d: %w", cmd.CommandPath(), n, len(args), errkind.Usage)
		}
		return nil
	}
}

// RangeArgs is cobra.RangeArgs with the error wrapped as errkind.Usage.
func RangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return fmt.Errorf("%s takes %d to %d arguments, got %d: %w", cmd.CommandPath(), lo, hi, len(args), errkind.Usage)
		}
		return nil
	}
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
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
