package main

import (
	"fmt"
	"io"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/spf13/cobra"
)

func newListCmd() *cobra.Command {
	var props []string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the handles of stored containers",
		Long:  "list prints the handles of the containers in the depot, sorted; with --property\nonly those whose properties include every given pair.",
		Example: "  gdn-depot list\n" +
			"  gdn-depot list --property garden.state=created --property app=web",
		Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			filter, err := parseKV("property", props)
			if err != nil {
				return err
			}
			dep, err := openDepot(cmd)
			if err != nil {
				return err
			}
			handles, err := dep.List(filter)
			if err != nil {
				return err
			}
			return cli.Print(cmd, map[string][]string{"handles": handles}, func(w io.Writer) error {
				for _, h := range handles {
					if _, err := fmt.Fprintln(w, h); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringArrayVar(&props, "property", nil, "only containers with property KEY=VALUE (repeatable)")
	return cmd
}
