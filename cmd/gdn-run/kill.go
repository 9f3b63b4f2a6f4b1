package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func killCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "kill HANDLE [SIGNAL]",
		Short: "Send a signal (default TERM) to a container's init, or --all processes",
		Long: "The sleeping init ignores every signal but KILL; `kill HANDLE KILL` ends the container\n" +
			"(delete then cleans up). A signal the init would ignore (TERM, the default, to gdn-init)\n" +
			"is refused (exit 5) rather than sent to no effect. Signals are names (TERM, SIGKILL) or numbers.",
		Example:           "  gdn-run kill c1 KILL\n  gdn-run kill --all c1 HUP",
		Args:              cli.HandleArgs(1, 2),
		ValidArgsFunction: cli.Complete(runHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			sig := unix.SIGTERM
			if len(args) == 2 {
				var err error
				if sig, err = parseSignal(args[1]); err != nil {
					return err
				}
			}
			rt, err := newRuntime(cmd, args[0])
			if err != nil {
				return err
			}
			if err := rt.Kill(args[0], sig, all); err != nil {
				return err
			}
			return cli.Print(cmd, map[string]any{"handle": args[0], "signal": unix.SignalName(sig)}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "sent %s to %s\n", unix.SignalName(sig), args[0])
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "signal every process in the container's cgroup")
	return cmd
}

// parseSignal accepts "KILL", "SIGKILL", "kill" or "9".
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q: %w", s, errkind.Usage)
}
