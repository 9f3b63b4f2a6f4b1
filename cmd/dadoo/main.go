// Command dadoo is the monitor of one process in a gdn container: gdn-run
// exec starts one per process, and it outlives every other tool. It is not
// meant to be run by hand; see pkg/dadoo for its protocol.
package main

import (
	"os"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/dadoo"
	"github.com/gdn-dev/gdn/pkg/procdir"
	"github.com/gdn-dev/gdn/pkg/runtime"
	"github.com/spf13/cobra"
)

func main() {
	// dadoo starts processes through libcontainer, which re-executes it.
	runtime.HandleInit()

	root := &cobra.Command{Use: "dadoo", Short: "Monitor one process of a gdn container (started by gdn-run exec)"}
	rootDir := root.PersistentFlags().String("runtime-root", runtime.DefaultRoot, "runtime state root")
	root.AddCommand(&cobra.Command{
		Use:   "exec HANDLE PROCESS_DIR",
		Short: "Start the process read from stdin in HANDLE, report on fd 3, and monitor it to its end",
		Args:  cli.HandleArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			log := cli.Logger(cmd, "handle", args[0], "process_dir", args[1])
			rt, err := runtime.New(runtime.Config{Root: *rootDir, Logger: log})
			if err != nil {
				return err
			}
			status, err := dadoo.Monitor(dadoo.MonitorConfig{
				Runtime: rt, Handle: args[0], Dir: procdir.Dir(args[1]),
				Spec: os.Stdin, Sync: os.NewFile(dadoo.SyncFD, "sync"), Log: log,
			})
			if err != nil {
				return err
			}
			return &cli.ExitStatusError{Status: status}
		},
	})
	os.Exit(cli.Execute(root))
}
