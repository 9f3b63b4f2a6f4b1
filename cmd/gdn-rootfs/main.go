// Command gdn-rootfs is gdn's image plugin: it makes container root file
// systems from images, with disk quotas, and speaks Guardian's image
// plugin contract (the same command line and JSON as grootfs).
package main

import (
	"io"
	"os"

	"github.com/mattn/go-isatty"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/rootfs"
	"github.com/gdn-dev/gdn/pkg/tag"
	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:   "gdn-rootfs",
		Short: "Make container root file systems from images, with disk quotas (Guardian image plugin)",
	}
	// An invalid tag only shapes this default; every command refuses it
	// (PersistentPreRunE).
	def := tag.Scoped(rootfs.DefaultDir, os.Getenv(tag.Env))
	if v := os.Getenv("GDN_STORE"); v != "" {
		def = v
	}
	root.PersistentFlags().String("store", def,
		"store directory (env GDN_STORE; default "+rootfs.DefaultDir+", or "+rootfs.DefaultDir+"-TAG with env "+tag.Env+")")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		_, err := tag.FromEnv()
		return err
	}
	root.AddCommand(initStoreCmd(), createCmd(), deleteCmd(), statsCmd(), capacityCmd(), listCmd(),
		pullCmd(), cleanCmd())
	os.Exit(cli.Execute(root))
}

// openStore opens the --store; images that are not directories are
// fetched by gdn-rootfs-fetch, found beside this program.
func openStore(cmd *cobra.Command) (*rootfs.Store, error) {
	dir, _ := cmd.Flags().GetString("store")
	s, err := rootfs.Open(dir)
	if err != nil {
		return nil, err
	}
	s.SetFetcher(s.ExecFetcher(rootfs.FetchProgramPath()))
	return s, nil
}

// terminalErr is stderr when it is a terminal (for progress bars), else
// nil: piped, the tool stays quiet.
func terminalErr() io.Writer {
	if isatty.IsTerminal(os.Stderr.Fd()) {
		return os.Stderr
	}
	return nil
}

// volumes lists the store's volumes, for shell completion.
func volumes(cmd *cobra.Command, _ []string) ([]string, error) {
	s, err := openStore(cmd)
	if err != nil {
		return nil, err
	}
	return s.List()
}
