package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/stream"
	"github.com/gdn-dev/gdn/pkg/stream/enter"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// Stream-in and stream-out run in a second gdn-run process that has
// entered the container (package enter) as the user: the kernel applies
// exactly the permissions a process of that user in the container has,
// container root's included. These hidden commands are that process's.
const (
	enteredIn  = "stream-in-entered"
	enteredOut = "stream-out-entered"
)

func streamInCmd() *cobra.Command {
	var dest, user string
	cmd := &cobra.Command{
		Use:   "stream-in HANDLE --destination PATH [--user U] < ARCHIVE.tar",
		Short: "Unpack a tar archive from stdin into the container, as a user (default root)",
		Long: "Unpack a tar archive from stdin into the container, by a process inside it (its user, mount\n" +
			"and pid namespaces) running as the user, with that user's permissions there. A relative\n" +
			"destination is relative to the user's home.",
		Example: "  tar -C site -c . | gdn-run stream-in c1 --destination /var/www --user vcap\n" +
			"  gdn-run stream-out c1 --source /etc/ | gdn-run stream-in c2 --destination /etc",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(runHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := runEntered(cmd, args[0], user, enteredIn, dest, cmd.InOrStdin(), nil)
			if err != nil {
				return fmt.Errorf("error streaming in: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dest, "destination", "", "directory in the container to unpack into (created if missing; relative to the user's home)")
	cmd.Flags().StringVarP(&user, "user", "u", "", "user name or uid[:gid] in the container (default root)")
	_ = cmd.MarkFlagRequired("destination")
	return cmd
}

func streamOutCmd() *cobra.Command {
	var src, user string
	cmd := &cobra.Command{
		Use:   "stream-out HANDLE --source PATH [--user U] > ARCHIVE.tar",
		Short: "Write a tar archive of a path in the container to stdout (a trailing / means its contents)",
		Long: "Write a tar archive of a path in the container to stdout, read by a process inside the\n" +
			"container running as the user. A relative source is relative to the user's home.",
		Example: "  gdn-run stream-out c1 --source /etc/passwd | tar -t\n" +
			"  gdn-run stream-out c1 --source /home/vcap/ > home.tar",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(runHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := runEntered(cmd, args[0], user, enteredOut, src, nil, os.Stdout)
			if err != nil {
				return fmt.Errorf("error streaming out: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&src, "source", "", "file or directory in the container (relative to the user's home)")
	cmd.Flags().StringVarP(&user, "user", "u", "", "user name or uid[:gid] in the container (default root)")
	_ = cmd.MarkFlagRequired("source")
	return cmd
}

// runEntered looks user up in container h and runs the hidden command
// sub on p (resolved against the user's home) inside the container as
// that user, relaying its error.
func runEntered(cmd *cobra.Command, h, user, sub, p string, stdin io.Reader, stdout io.Writer) error {
	rt, err := newRuntime(cmd, h)
	if err != nil {
		return err
	}
	cr, err := rt.OpenRoot(h, user)
	if err != nil {
		return err
	}
	cr.Root.Close()
	var stderr bytes.Buffer
	child := exec.Command("/proc/self/exe", sub, stream.Resolve(cr.User.Home, p))
	child.Stdin, child.Stdout, child.Stderr = stdin, stdout, &stderr
	err = enter.Run(child, enter.Spec{
		Pid: cr.Pid, StartTime: cr.StartTime, UserNS: cr.UserNS, Bounding: cr.Bounding,
		UID: cr.User.UID, GID: cr.User.GID, Groups: cr.User.Groups,
	})
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return cli.ParseToolError("gdn-run", stderr.Bytes(), err.Error())
	}
	return err
}

// enteredCmds are the commands of the process inside the container: the
// container's root is its "/".
func enteredCmds() []*cobra.Command {
	do := func(fn func(stream.Target, string) error) func(*cobra.Command, []string) error {
		return func(_ *cobra.Command, args []string) error {
			fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			root := os.NewFile(uintptr(fd), "/")
			defer root.Close()
			return fn(stream.Target{Root: root, Entered: true}, args[0])
		}
	}
	// They run as the container's user, who may be anyone: no root check.
	return []*cobra.Command{
		cli.AnyUser(&cobra.Command{
			Use: enteredIn + " DEST", Hidden: true, Args: cli.ExactArgs(1),
			RunE: do(func(t stream.Target, dest string) error { return stream.In(t, dest, os.Stdin) }),
		}),
		cli.AnyUser(&cobra.Command{
			Use: enteredOut + " SRC", Hidden: true, Args: cli.ExactArgs(1),
			RunE: do(func(t stream.Target, src string) error { return stream.Out(t, src, os.Stdout) }),
		}),
	}
}
