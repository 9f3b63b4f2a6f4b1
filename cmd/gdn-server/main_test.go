package main

import (
	"os"
	"testing"

	"github.com/gdn-dev/gdn/pkg/cli"
)

// TestMain lets the test binary be the spawn helper of the servers the
// tests start (they run /proc/self/exe spawn-helper, as gdn-server does).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == spawnHelperCmd {
		os.Exit(cli.Execute(newRootCmd()))
	}
	os.Exit(m.Run())
}
