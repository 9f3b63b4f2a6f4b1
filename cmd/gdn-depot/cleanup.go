package main

import (
	"fmt"
	"io"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/spf13/cobra"
)

func newCleanupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what killed destroys left in the depot's trash",
		Long: "cleanup removes every entry of $depot/.trash: bundle directories a destroy moved\n" +
			"there and was killed before removing. It is safe beside running destroys and other\n" +
			"cleanups; a server runs it at start.",
		Example: "  gdn-depot cleanup",
		Args:    cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			dep, err := openDepot(cmd)
			if err != nil {
				return err
			}
			n, err := dep.Cleanup()
			if err != nil {
				return err
			}
			return cli.Print(cmd, map[string]int{"removed": n}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "removed %d trash entries\n", n)
				return err
			})
		},
	}
}
