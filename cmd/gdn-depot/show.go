package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/depot"
	"github.com/spf13/cobra"
)

func newShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "show HANDLE",
		Short:             "Show a stored container: bundle, rootfs, limits, properties",
		Example:           "  gdn-depot show c1\n  gdn-depot show c1 --output json | jq .limits",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: completeHandles,
		RunE: func(cmd *cobra.Command, args []string) error {
			dep, err := openDepot(cmd)
			if err != nil {
				return err
			}
			s, err := dep.Show(args[0])
			if err != nil {
				return err
			}
			return cli.Print(cmd, s, func(w io.Writer) error { return showHuman(w, s) })
		},
	}
}

func showHuman(w io.Writer, s depot.Summary) error {
	fmt.Fprintf(w, "handle:      %s\nbundle:      %s\nrootfs:      %s\nprivileged:  %v\n", s.Handle, s.Bundle, s.Rootfs, s.Privileged)
	fmt.Fprintf(w, "limits:      memory %d bytes, cpu %d shares, pids %d (0 = none)\n", s.Limits.MemoryBytes, s.Limits.CPUShares, s.Limits.PidsMax)
	fmt.Fprintf(w, "created:     %s\nproperties:\n", s.Created.Local().Format(time.RFC3339))
	for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
		fmt.Fprintf(w, "  %s=%s\n", k, s.Properties[k])
	}
	return nil
}

// completeHandles completes the first argument with the depot's handles.
var completeHandles = cli.Complete(func(cmd *cobra.Command, _ []string) ([]string, error) {
	dep, err := openDepot(cmd)
	if err != nil {
		return nil, err
	}
	return dep.List(nil)
})
