package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// Lister lists the names a positional argument can take (a tool's handles,
// a container's process ids), given the arguments before it and the
// command's parsed flags (so --depot or --runtime-root given on the line
// are honoured).
type Lister func(cmd *cobra.Command, args []string) ([]string, error)

// Complete returns a cobra ValidArgsFunction for shell completion: the
// i-th positional argument is completed from listers[i]; arguments past
// the listers, and every argument when a lister fails (no depot yet, not
// root), complete to nothing rather than to file names, since none of
// them is a file.
func Complete(listers ...Lister) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= len(listers) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names, err := listers[len(args)](cmd, args)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		var out []cobra.Completion
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
