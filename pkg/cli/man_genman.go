//go:build genman

package cli

import (
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func genManTree(root *cobra.Command, dir string) error {
	hdr := &doc.GenManHeader{Title: root.Name(), Section: "1", Source: "gdn " + root.Version, Manual: "gdn manual"}
	return doc.GenManTree(root, hdr, dir)
}
