package main

import (
	"fmt"
	"io"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/rootfs"
	"github.com/spf13/cobra"
)

func deleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "delete HANDLE",
		Short:             "Unmount and remove a container's root file system (idempotent)",
		Example:           "  gdn-rootfs delete c1",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(volumes),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(cmd)
			if err != nil {
				return err
			}
			existed, err := s.Delete(args[0])
			if err != nil {
				return err
			}
			return cli.Print(cmd, map[string]any{"handle": args[0], "deleted": existed}, nil)
		},
	}
}

func statsCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "stats HANDLE",
		Short:             "Print a container's disk usage: {\"disk_usage\":{\"total_bytes_used\",\"exclusive_bytes_used\"}}",
		Example:           "  gdn-rootfs stats c1",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(volumes),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(cmd)
			if err != nil {
				return err
			}
			du, err := s.Stats(args[0])
			if err != nil {
				return err
			}
			return cli.Print(cmd, map[string]rootfs.DiskUsage{"disk_usage": du}, nil)
		},
	}
}

func capacityCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "capacity",
		Short:   "Print the store's size: {\"capacity\":N}",
		Example: "  gdn-rootfs capacity",
		Args:    cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(cmd)
			if err != nil {
				return err
			}
			n, err := s.Capacity()
			if err != nil {
				return err
			}
			return cli.Print(cmd, map[string]uint64{"capacity": n}, nil)
		},
	}
}

func listCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the store's volumes and images",
		Example: "  gdn-rootfs list",
		Args:    cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(cmd)
			if err != nil {
				return err
			}
			hs, err := s.List()
			if err != nil {
				return err
			}
			imgs, err := s.Images()
			if err != nil {
				return err
			}
			return cli.Print(cmd, map[string]any{"volumes": hs, "images": imgs}, func(w io.Writer) error {
				fmt.Fprintln(w, "VOLUMES")
				for _, h := range hs {
					fmt.Fprintln(w, "  "+h)
				}
				fmt.Fprintln(w, "IMAGES")
				for d, img := range imgs {
					fmt.Fprintf(w, "  %s  %d layers  %d bytes\n", d, len(img.Layers), img.SizeBytes)
				}
				return nil
			})
		},
	}
}
