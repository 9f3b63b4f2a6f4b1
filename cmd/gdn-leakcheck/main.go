// Command gdn-leakcheck lists what one gdn instance left on the host
// (pkg/leakcheck): one line per leftover, or one JSON object when stdout
// is not a terminal, and exit status 1 when there is any.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/leakcheck"
	"github.com/gdn-dev/gdn/pkg/tag"
	"github.com/spf13/cobra"
)

// exitLeaks is the status when leftovers were found (as diff's 1 for
// "differences"); a failure to look prints an error as every tool does.
const exitLeaks = 1

func main() {
	var t, owned string
	var except []string
	homes := map[string]*string{}
	root := &cobra.Command{
		Use:   "gdn-leakcheck",
		Short: "List what a gdn instance left on the host: bundles, volumes, mounts, cgroups, processes, links, nft rules, pool allocations",
		Long: "gdn-leakcheck looks, read-only, everywhere a gdn instance keeps things, and lists each\n" +
			"leftover. Homes default to the tag's defaults, then the tools' environment variables,\n" +
			"then the flags; an empty flag value skips that part.",
		Example: "  gdn-leakcheck\n  gdn-leakcheck --tag ci\n" +
			"  gdn-leakcheck --depot /tmp/w/depot --runtime-root /tmp/w/run --store '' --except c1",
		Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("tag") {
				t = os.Getenv(tag.Env)
			}
			inst, err := leakcheck.FromEnv(t)
			if err != nil {
				return err
			}
			for name, p := range map[string]*string{"depot": &inst.Depot, "store": &inst.Store,
				"runtime-root": &inst.RuntimeRoot, "net-state": &inst.NetState,
				"nft-table": &inst.NftTable, "cgroup-parent": &inst.CgroupParent, "init-bin": &inst.InitBin} {
				if cmd.Flags().Changed(name) {
					*p = *homes[name]
				}
			}
			if owned != "" {
				if inst.Owned, err = leakcheck.OwnedGlob(owned); err != nil {
					return err
				}
			}
			leaks, err := inst.Except(except...).Check()
			if leaks == nil {
				leaks = []leakcheck.Leak{}
			}
			perr := cli.Print(cmd, map[string]any{"leaks": leaks}, func(w io.Writer) error {
				for _, l := range leaks {
					if _, err := fmt.Fprintln(w, l); err != nil {
						return err
					}
				}
				return nil
			})
			switch {
			case err != nil:
				return err
			case perr != nil:
				return perr
			case len(leaks) > 0:
				return &cli.ExitStatusError{Status: exitLeaks}
			}
			return nil
		},
	}
	f := root.Flags()
	f.StringVar(&t, "tag", "", "the instance's tag (env "+tag.Env+")")
	for _, h := range []struct{ name, usage string }{
		{"depot", "depot directory (env GDN_DEPOT)"},
		{"store", "image store directory (env GDN_STORE)"},
		{"runtime-root", "runtime state root (env GDN_RUNTIME_ROOT)"},
		{"net-state", "gdn-net state directory (env GDN_NET_STATE)"},
		{"nft-table", "gdn-net's nftables table, which also marks its devices (env GDN_NET_TABLE)"},
		{"cgroup-parent", "cgroup parent of the containers (default /garden, /garden-TAG with a tag)"},
		{"init-bin", "the init the instance's containers mount: a process showing another one there is not its own"},
	} {
		homes[h.name] = f.String(h.name, "", h.usage)
	}
	f.StringArrayVar(&except, "except", nil, "a handle that should exist: what it owns is no leak (repeatable)")
	f.StringVar(&owned, "owned", "", "only handles matching this glob count, for cgroups and their processes (runs sharing a cgroup parent)")
	os.Exit(cli.Execute(root))
}
