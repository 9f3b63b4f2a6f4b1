//go:build !genman

package cli

import (
	"fmt"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/spf13/cobra"
)

func genManTree(root *cobra.Command, _ string) error {
	return fmt.Errorf("gen-man: %s was built without man pages; a build with -tags genman writes them (make gen): %w", root.Name(), errkind.Usage)
}
