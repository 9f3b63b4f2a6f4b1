// Command gdn-rootfs-fetch brings an image that is not a directory (a
// registry's, an OCI layout's, a docker archive's, a rootfs tarball)
// into a gdn-rootfs store's layers and prints its record. gdn-rootfs
// runs it when a create or pull needs one (pkg/rootfs/fetch says why it
// is a program of its own); an operator can run it to fetch ahead.
package main

import (
	"fmt"
	"os"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/rootfs"
	"github.com/gdn-dev/gdn/pkg/rootfs/fetch"
	"github.com/spf13/cobra"
)

func main() {
	var store string
	var opts rootfs.PullOptions
	progressFD := -1
	root := &cobra.Command{
		Use:   "gdn-rootfs-fetch --store DIR URI",
		Short: "Fetch and unpack an image into a gdn-rootfs store's layers; print its record",
		Example: "  gdn-rootfs-fetch --store /var/lib/gdn/store --insecure-registry 127.0.0.1:5000 docker://127.0.0.1:5000/busybox:latest\n" +
			"  gdn-rootfs-fetch --store /var/lib/gdn/store /var/lib/gdn/rootfs.tar.gz",
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := rootfs.ParseURI(args[0])
			if err != nil {
				return err
			}
			if src.Kind == rootfs.Dir {
				return fmt.Errorf("image %q is a directory: gdn-rootfs uses it as it is, nothing to fetch: %w", src.Path, errkind.Usage)
			}
			if store == "" {
				return fmt.Errorf("--store is required: %w", errkind.Usage)
			}
			s, err := rootfs.Open(store)
			if err != nil {
				return err
			}
			if opts.Password == "" {
				opts.Password = os.Getenv(rootfs.PasswordEnv)
			}
			if progressFD >= 0 {
				opts.Progress = os.NewFile(uintptr(progressFD), "progress")
			}
			rec, err := fetch.Fetch(cmd.Context(), s, src, opts)
			if err != nil {
				return err
			}
			return cli.Print(cmd, rec, nil)
		},
	}
	f := root.Flags()
	f.StringVar(&store, "store", "", "store directory (as gdn-rootfs's --store)")
	f.StringVar(&opts.Username, "username", "", "registry user name")
	f.StringVar(&opts.Password, "password", "", "registry password (else env "+rootfs.PasswordEnv+", which ps does not show)")
	f.StringArrayVar(&opts.Insecure, "insecure-registry", nil, "registry HOST[:PORT] to reach over plain HTTP")
	f.IntVar(&progressFD, "progress-fd", -1, "file descriptor to draw a progress line per fetched layer on (gdn-rootfs passes its terminal)")
	os.Exit(cli.Execute(root))
}
