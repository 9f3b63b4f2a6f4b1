package cli

import (
	"fmt"
	"os"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/spf13/cobra"
)

// manCommand is the hidden "gen-man DIR" command every tool gets from
// Execute: it writes the tool's man pages (one per command, section 1)
// from its cobra commands, so make install ships pages that say what
// --help says. It is hidden: an operator never needs it. The pages come
// only from a build with the genman tag (make gen makes one): the
// markdown-to-roff converter they need costs every run of a tool half a
// millisecond of package initialisation.
func manCommand(root *cobra.Command) *cobra.Command {
	// Man pages are made at build and install time, by anyone.
	return AnyUser(&cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write this tool's man pages into DIR",
		Hidden: true,
		Args:   ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return fmt.Errorf("gen-man: %w: %w", err, errkind.Usage)
			}
			root.DisableAutoGenTag = true
			// one page for completion, not one per shell
			if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
				for _, sh := range c.Commands() {
					sh.Hidden = true
				}
			}
			return genManTree(root, args[0])
		},
	})
}
