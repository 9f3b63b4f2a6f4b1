package main

import (
	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/rootfs"
	"github.com/spf13/cobra"
)

func pullCmd() *cobra.Command {
	var opts rootfs.PullOptions
	cmd := &cobra.Command{
		Use:     "pull URI",
		Short:   "Fetch and unpack an image into the store without making a volume",
		Example: "  gdn-rootfs pull --insecure-registry 127.0.0.1:5000 docker://127.0.0.1:5000/busybox:latest",
		Args:    cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := rootfs.ParseURI(args[0])
			if err != nil {
				return err
			}
			s, err := openStore(cmd)
			if err != nil {
				return err
			}
			opts.Progress = terminalErr()
			info, err := s.Pull(cmd.Context(), src, opts)
			if err != nil {
				return err
			}
			return cli.Print(cmd, info, nil)
		},
	}
	cmd.Flags().StringVar(&opts.Username, "username", "", "registry user name")
	cmd.Flags().StringVar(&opts.Password, "password", "", "registry password")
	cmd.Flags().StringArrayVar(&opts.Insecure, "insecure-registry", nil, "registry HOST[:PORT] to reach over plain HTTP")
	return cmd
}

func cleanCmd() *cobra.Command {
	var threshold uint64
	cmd := &cobra.Command{
		Use:   "clean [--threshold-bytes N]",
		Short: "Remove layers no volume uses, oldest first, down to the threshold (all unused by default)",
		Example: "  gdn-rootfs clean\n" +
			"  gdn-rootfs clean --threshold-bytes 10737418240",
		Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(cmd)
			if err != nil {
				return err
			}
			res, err := s.Clean(cmd.Context(), threshold)
			if err != nil {
				return err
			}
			return cli.Print(cmd, res, nil)
		},
	}
	cmd.Flags().Uint64Var(&threshold, "threshold-bytes", 0, "keep unused layers while all layers take at most this much (0: remove every unused layer)")
	return cmd
}
