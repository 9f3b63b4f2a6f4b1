package main

import (
	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/rootfs"
	"github.com/spf13/cobra"
)

func createCmd() *cobra.Command {
	var req rootfs.CreateRequest
	var username, password string
	var insecure []string
	cmd := &cobra.Command{
		Use:   "create [--disk-limit-size-bytes N [--exclude-image-from-quota]] URI HANDLE",
		Short: "Make a container's root file system from an image; print the partial OCI spec",
		Example: "  gdn-rootfs create /var/lib/gdn/rootfs c1 | gdn-depot create c1 | gdn-run create\n" +
			"  gdn-rootfs create --disk-limit-size-bytes 10485760 --exclude-image-from-quota /var/lib/gdn/rootfs c2\n" +
			"  gdn-rootfs create --without-mount /var/lib/gdn/rootfs c3 | gdn-depot create c3 | gdn-run create",
		Args: cli.RangeArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := rootfs.ParseURI(args[0])
			if err != nil {
				return err
			}
			if err := cli.HandleArgs(1, 1)(cmd, args[1:]); err != nil {
				return err
			}
			req.Source, req.Handle = src, args[1]
			req.Pull = rootfs.PullOptions{Username: username, Password: password, Insecure: insecure, Progress: terminalErr()}
			s, err := openStore(cmd)
			if err != nil {
				return err
			}
			spec, err := s.Create(cmd.Context(), req)
			if err != nil {
				return err
			}
			return cli.Print(cmd, spec, nil)
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&req.DiskLimit, "disk-limit-size-bytes", 0, "disk quota in bytes (0: none)")
	f.BoolVar(&req.ExcludeImage, "exclude-image-from-quota", false, "count only what the container writes")
	f.BoolVar(&req.WithoutMount, "without-mount", false, "leave the overlay unmounted: the spec's first mount, on /, is for the runtime to mount in the container's mount namespace")
	f.StringVar(&username, "username", "", "registry user name")
	f.StringVar(&password, "password", "", "registry password")
	f.StringArrayVar(&insecure, "insecure-registry", nil, "registry HOST[:PORT] to reach over plain HTTP")
	return cmd
}
