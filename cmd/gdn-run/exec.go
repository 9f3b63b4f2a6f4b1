package main

import (
	"os"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/runtime"
	"github.com/spf13/cobra"
)

func execCmd() *cobra.Command {
	var spec runtime.ExecSpec
	cmd := &cobra.Command{
		Use:     "exec HANDLE [flags] -- PATH [ARGS...]",
		Short:   "Run a process in a container, attached to this terminal's stdio, and exit with its status",
		Example: "  gdn-run exec c1 -- /bin/echo hello\n  gdn-run exec c1 --user nobody --dir /tmp -- /bin/sh -c 'id; pwd'",
		Args:    cli.HandleArgs(2, 1<<16),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec.Args = args[1:]
			rt, err := newRuntime(cmd, args[0])
			if err != nil {
				return err
			}
			status, err := rt.Exec(cmd.Context(), args[0], spec, os.Stdin, os.Stdout, os.Stderr)
			if err != nil {
				return err
			}
			if status != 0 {
				return &cli.ExitStatusError{Status: status}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&spec.User, "user", "u", "", "user name or uid[:gid] in the container (default root)")
	cmd.Flags().StringVarP(&spec.Dir, "dir", "d", "", "working directory (default: the user's home)")
	cmd.Flags().StringArrayVarP(&spec.Env, "env", "e", nil, "environment variable K=V (repeatable)")
	return cmd
}
