package main

import (
	"os"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/stream"
	"github.com/spf13/cobra"
)

func streamInCmd() *cobra.Command {
	var dest, user string
	cmd := &cobra.Command{
		Use:   "stream-in HANDLE --destination PATH [--user U] < ARCHIVE.tar",
		Short: "Unpack a tar archive from stdin into the container, as a user (default root)",
		Example: "  tar -C site -c . | gdn-run stream-in c1 --destination /var/www --user vcap\n" +
			"  gdn-run stream-out c1 --source /etc/ | gdn-run stream-in c2 --destination /etc",
		Args: cli.HandleArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := streamTarget(cmd, args[0], user)
			if err != nil {
				return err
			}
			defer t.Root.Close()
			return stream.In(t, dest, cmd.InOrStdin())
		},
	}
	cmd.Flags().StringVar(&dest, "destination", "", "directory in the container to unpack into (created if missing)")
	cmd.Flags().StringVarP(&user, "user", "u", "", "user name or uid[:gid] in the container (default root)")
	_ = cmd.MarkFlagRequired("destination")
	return cmd
}

func streamOutCmd() *cobra.Command {
	var src, user string
	cmd := &cobra.Command{
		Use:   "stream-out HANDLE --source PATH [--user U] > ARCHIVE.tar",
		Short: "Write a tar archive of a path in the container to stdout (a trailing / means its contents)",
		Example: "  gdn-run stream-out c1 --source /etc/passwd | tar -t\n" +
			"  gdn-run stream-out c1 --source /home/vcap/ > home.tar",
		Args: cli.HandleArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := streamTarget(cmd, args[0], user)
			if err != nil {
				return err
			}
			defer t.Root.Close()
			return stream.Out(t, src, os.Stdout)
		},
	}
	cmd.Flags().StringVar(&src, "source", "", "file or directory in the container")
	cmd.Flags().StringVarP(&user, "user", "u", "", "user name or uid[:gid] in the container (default root)")
	_ = cmd.MarkFlagRequired("source")
	return cmd
}

// streamTarget opens the container's root for the user.
func streamTarget(cmd *cobra.Command, h, user string) (stream.Target, error) {
	rt, err := newRuntime(cmd, h)
	if err != nil {
		return stream.Target{}, err
	}
	cr, err := rt.OpenRoot(h, user)
	if err != nil {
		return stream.Target{}, err
	}
	return stream.Target{Root: cr.Root, UID: cr.UID, GID: cr.GID, Groups: cr.Groups, UIDMap: cr.UIDMap, GIDMap: cr.GIDMap}, nil
}
