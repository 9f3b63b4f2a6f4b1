package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gdn-dev/gdn/pkg/depot"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/spf13/cobra"
)

// openDepot opens the depot named by --depot.
func openDepot(cmd *cobra.Command) (*depot.Depot, error) {
	dir, err := cmd.Flags().GetString("depot")
	if err != nil {
		return nil, err
	}
	return depot.New(depot.Config{Dir: dir})
}

// parseKV turns repeated KEY=VALUE flag values into a map; a value without
// "=" or with an empty key is errkind.Usage.
func parseKV(flag string, pairs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q is not KEY=VALUE: %w", flag, p, errkind.Usage)
		}
		m[k] = v
	}
	return m, nil
}

// defaultInitBin is gdn-init beside this executable, where the build puts
// it; "" when the executable's path is unknown.
func defaultInitBin() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(exe), "gdn-init")
}
