// Command gdn-run is gdn's container runtime: it creates, inspects, stops
// and deletes containers from OCI bundles, with runc's libcontainer built in.
package main

import (
	"os"
	"path/filepath"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/procdir"
	"github.com/gdn-dev/gdn/pkg/runtime"
	"github.com/gdn-dev/gdn/pkg/tag"
	"github.com/spf13/cobra"
)

func main() {
	// Before anything else: this binary is also the container bootstrap.
	runtime.HandleInit()

	root := &cobra.Command{
		Use:   "gdn-run",
		Short: "Run gdn containers from OCI bundles (libcontainer inside)",
		Long: "gdn-run creates a container from a bundle written by gdn-depot, starts its sleeping init,\n" +
			"and manages it. State lives in --runtime-root (default /run/runc), readable by runc.\n" +
			"Env GDN_TAG scopes the defaults and the cgroup parent (/garden-TAG) to one gdn instance.",
	}
	root.PersistentFlags().String("dadoo-bin", "", "dadoo binary (default: next to gdn-run)")
	// An invalid tag only shapes this default; newRuntime refuses it.
	defRoot := tag.Scoped(runtime.DefaultRoot, os.Getenv(tag.Env))
	root.PersistentFlags().String("runtime-root", envOr("GDN_RUNTIME_ROOT", defRoot),
		"runtime state root (env GDN_RUNTIME_ROOT; default "+runtime.DefaultRoot+", or "+runtime.DefaultRoot+"-TAG with env "+tag.Env+")")
	root.AddCommand(createCmd(), stateCmd(), listCmd(), psCmd(), killCmd(), stopCmd(),
		deleteCmd(), eventsCmd(), statsCmd(), execCmd(), attachCmd(), waitCmd(), signalCmd(), startProcessCmd(), startPeaCmd(),
		streamInCmd(), streamOutCmd())
	root.AddCommand(enteredCmds()...)
	os.Exit(cli.Execute(root))
}

// besideSelf is the path of a sibling binary installed next to gdn-run.
func besideSelf(name string) string {
	self, err := os.Executable()
	if err != nil {
		return name
	}
	return filepath.Join(filepath.Dir(self), name)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// newRuntime opens the runtime named by the command's flags, logging with
// the handle attached. The instance tag (env GDN_TAG) scopes the cgroup
// parent, as gdn-depot's bundles have it.
func newRuntime(cmd *cobra.Command, handle string) (*runtime.Runtime, error) {
	t, err := tag.FromEnv()
	if err != nil {
		return nil, err
	}
	rootDir, _ := cmd.Flags().GetString("runtime-root")
	log := cli.Logger(cmd, "handle", handle)
	return runtime.New(runtime.Config{Root: rootDir, CgroupParent: tag.Scoped(runtime.DefaultCgroupParent, t), Logger: log})
}

// runHandles lists the runtime root's containers, for shell completion.
func runHandles(cmd *cobra.Command, _ []string) ([]string, error) {
	rt, err := newRuntime(cmd, "")
	if err != nil {
		return nil, err
	}
	states, err := rt.List()
	hs := make([]string, 0, len(states))
	for _, s := range states {
		hs = append(hs, s.Handle)
	}
	return hs, err
}

// processIDs lists the process ids of the container args[0], for shell
// completion.
func processIDs(cmd *cobra.Command, args []string) ([]string, error) {
	rt, err := newRuntime(cmd, args[0])
	if err != nil {
		return nil, err
	}
	st, err := rt.State(args[0])
	if err != nil {
		return nil, err
	}
	return procdir.List(st.Bundle)
}

// signalNames are the signals gdn-run signal sends.
func signalNames(*cobra.Command, []string) ([]string, error) { return []string{"term", "kill"}, nil }
