package main

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/spf13/cobra"
)

func newListCmd() *cobra.Command {
	var props []string
	var withProps bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the handles of stored containers",
		Long:  "list prints the handles of the containers in the depot, sorted; with --property\nonly those whose properties include every given pair.",
		Example: "  gdn-depot list\n  gdn-depot list --with-properties -o json\n" +
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
			if withProps {
				all, err := dep.AllProperties(filter)
				if err != nil {
					return err
				}
				handles := slices.Sorted(maps.Keys(all))
				return cli.Print(cmd, map[string]any{"handles": handles, "properties": all}, func(w io.Writer) error {
					for _, h := range handles {
						if _, err := fmt.Fprintf(w, "%s %v\n", h, all[h]); err != nil {
							return err
						}
					}
					return nil
				})
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
	cmd.Flags().BoolVar(&withProps, "with-properties", false, "also print every listed container's properties")
	return cmd
}
