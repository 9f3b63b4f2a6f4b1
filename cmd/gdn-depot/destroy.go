package main

import (
	"fmt"
	"io"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/spf13/cobra"
)

type destroyResult struct {
	Handle    string `json:"handle"`
	Destroyed bool   `json:"destroyed"`
}

func newDestroyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "destroy HANDLE",
		Short: "Remove a container's bundle directory (idempotent)",
		Long: "destroy removes $depot/HANDLE and everything in it. Destroying an absent handle\n" +
			"succeeds and reports \"destroyed\":false. Delete the container from the runtime first.",
		Example:           "  gdn-run delete c1 && gdn-depot destroy c1",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: completeHandles,
		RunE: func(cmd *cobra.Command, args []string) error {
			dep, err := openDepot(cmd)
			if err != nil {
				return err
			}
			existed, err := dep.Destroy(args[0])
			if err != nil {
				return err
			}
			res := destroyResult{Handle: args[0], Destroyed: existed}
			return cli.Print(cmd, res, func(w io.Writer) error {
				msg := "destroyed %s\n"
				if !existed {
					msg = "%s did not exist\n"
				}
				_, err := fmt.Fprintf(w, msg, res.Handle)
				return err
			})
		},
	}
}
