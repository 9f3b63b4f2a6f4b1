// Command gdn-rootfs is gdn's image plugin: it makes container root file
// systems from images, with disk quotas, and speaks Guardian's image
// plugin contract (the same command line and JSON as grootfs).
package main

import (
	"os"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/rootfs"
	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:   "gdn-rootfs",
		Short: "Make container root file systems from images, with disk quotas (Guardian image plugin)",
	}
	def := rootfs.DefaultDir
	if v := os.Getenv("GDN_STORE"); v != "" {
		def = v
	}
	root.PersistentFlags().String("store", def, "store directory (env GDN_STORE)")
	root.AddCommand(initStoreCmd(), createCmd(), deleteCmd(), statsCmd(), capacityCmd(), listCmd(),
		pullCmd(), cleanCmd())
	os.Exit(cli.Execute(root))
}

func openStore(cmd *cobra.Command) (*rootfs.Store, error) {
	dir, _ := cmd.Flags().GetString("store")
	return rootfs.Open(dir)
}
