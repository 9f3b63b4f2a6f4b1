package main

import (
	"fmt"
	"io"
	"os"

	"github.com/gdn-dev/gdn/pkg/attach"
	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/procdir"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func attachCmd() *cobra.Command {
	var tty bool
	cmd := &cobra.Command{
		Use:   "attach HANDLE PROCESS_ID",
		Short: "Stream a process's stdio (stdin in, stdout and stderr out) and exit with its status",
		Long: "Works for any process whose directory exists, also after every tool that started it has\n" +
			"died: a process that ended meanwhile gives its unread output and its stored status at once.",
		Example:           "  gdn-run attach c1 web\n  gdn-run attach --tty c1 shell",
		Args:              cli.HandleArgs(2, 2),
		ValidArgsFunction: cli.Complete(runHandles, processIDs),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := processDir(cmd, args[0], args[1])
			if err != nil {
				return err
			}
			status, err := attach.Run(cmd.Context(), d, attach.Options{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, TTY: tty})
			return exitWith(status, err)
		},
	}
	cmd.Flags().BoolVarP(&tty, "tty", "t", false, "the process has a terminal: raw mode and window-size forwarding")
	return cmd
}

func waitCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "wait HANDLE PROCESS_ID",
		Short:             "Wait for a process to end and print {\"exit_status\":N}",
		Example:           "  gdn-run wait c1 web",
		Args:              cli.HandleArgs(2, 2),
		ValidArgsFunction: cli.Complete(runHandles, processIDs),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := processDir(cmd, args[0], args[1])
			if err != nil {
				return err
			}
			status, err := d.Wait(cmd.Context())
			if err != nil {
				return err
			}
			return cli.Print(cmd, map[string]int{"exit_status": status}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "exit status %d\n", status)
				return err
			})
		},
	}
}

func signalCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "signal HANDLE PROCESS_ID term|kill",
		Short:             "Send TERM or KILL to a process (nothing if it has ended)",
		Example:           "  gdn-run signal c1 web term",
		Args:              cli.HandleArgs(3, 3),
		ValidArgsFunction: cli.Complete(runHandles, processIDs, signalNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			sig, err := parseSignal(args[2])
			if err != nil {
				return err
			}
			if sig != unix.SIGTERM && sig != unix.SIGKILL {
				return fmt.Errorf("signal %q: Garden processes take only term or kill: %w", args[2], errkind.Usage)
			}
			d, err := processDir(cmd, args[0], args[1])
			if err != nil {
				return err
			}
			if err := d.Signal(sig); err != nil {
				return err
			}
			return cli.Print(cmd, map[string]string{"handle": args[0], "process_id": args[1], "signal": unix.SignalName(sig)}, nil)
		},
	}
}

// processDir finds a process's directory from its container's bundle.
func processDir(cmd *cobra.Command, h, id string) (procdir.Dir, error) {
	rt, err := newRuntime(cmd, h)
	if err != nil {
		return "", err
	}
	st, err := rt.State(h)
	if err != nil {
		return "", err
	}
	return procdir.Path(st.Bundle, id)
}
