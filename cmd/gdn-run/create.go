package main

import (
	"fmt"
	"io"
	"os"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/runtime"
	"github.com/spf13/cobra"
)

// createInput is what gdn-depot create prints, and what create reads.
type createInput struct {
	Handle string `json:"handle"`
	Bundle string `json:"bundle"`
}

type createOutput struct {
	Handle string `json:"handle"`
	Bundle string `json:"bundle"`
	Pid    int    `json:"pid"`
}

func createCmd() *cobra.Command {
	var in createInput
	pidFD := -1
	cmd := &cobra.Command{
		Use:   "create [HANDLE]",
		Short: "Create a container from a bundle and start its sleeping init",
		Example: `  gdn-depot create c1 --rootfs /var/lib/gdn/rootfs | gdn-run create
  gdn-run create c1 --bundle /var/run/gdn/depot/c1`,
		Args: cli.HandleArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			flagBundle := in.Bundle
			if len(args) == 0 || flagBundle == "" {
				if _, err := cli.DecodeStdin(cmd, &in); err != nil {
					return err
				}
			}
			if len(args) == 1 {
				in.Handle = args[0]
			}
			if flagBundle != "" {
				in.Bundle = flagBundle
			}
			if in.Handle == "" || in.Bundle == "" {
				return fmt.Errorf("need a handle and a bundle, as arguments or {\"handle\",\"bundle\"} on stdin: %w", errkind.Usage)
			}
			rt, err := newRuntime(cmd, in.Handle)
			if err != nil {
				return err
			}
			var opts []runtime.CreateOption
			if pidFD >= 0 {
				opts = append(opts, runtime.NamespacesReady(earlyPid(pidFD)))
			}
			st, err := rt.Create(cmd.Context(), in.Handle, in.Bundle, opts...)
			if err != nil {
				return err
			}
			out := createOutput{Handle: st.Handle, Bundle: st.Bundle, Pid: st.Pid}
			return cli.Print(cmd, out, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "created %s (init pid %d, bundle %s)\n", out.Handle, out.Pid, out.Bundle)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&in.Bundle, "bundle", "", "bundle directory (default: from stdin)")
	cmd.Flags().IntVar(&pidFD, "pid-fd", -1, "write the init's pid to this open file descriptor (then close it) as soon as the container's namespaces exist, before its setup is done, so that a caller can set up its network meanwhile")
	return cmd
}

// earlyPid returns the NamespacesReady callback of --pid-fd fd: the pid
// and a newline, then the fd is closed (the reader's EOF).
func earlyPid(fd int) func(int) {
	f := os.NewFile(uintptr(fd), "pid-fd")
	return func(pid int) {
		if f == nil {
			return
		}
		_, _ = fmt.Fprintf(f, "%d\n", pid)
		f.Close()
		f = nil
	}
}
