// Command dadoo is the monitor of one process in a gdn container: gdn-run
// exec starts one per process, and it outlives every other tool. It is not
// meant to be run by hand; see pkg/dadoo for its protocol. It uses the
// standard flag package, not cobra, to stay small: many run at once.
// Once a process without a terminal has run 100 ms, dadoo execs
// dadoo-wait (static C, from the same directory) for the long wait, which
// keeps the monitor of each running process at some KiB of private memory.
//
// Usage:
//
//	dadoo -starter GDN_RUN -runtime-root ROOT [-pea ID] exec HANDLE PROCESS_DIR
//	dadoo -version
package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gdn-dev/gdn/pkg/dadoo"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/gdn-dev/gdn/pkg/procdir"
	"github.com/gdn-dev/gdn/pkg/tag"
	"github.com/gdn-dev/gdn/pkg/version"
	"golang.org/x/sys/unix"
)

// Exit statuses of dadoo itself, when the process did not run.
const (
	exitUsage = 2
	exitSetup = 3
)

func main() {
	starter := flag.String("starter", "gdn-run", "binary whose start-process command starts the process")
	// gdn-run always passes -runtime-root; the default is gdn-run's own,
	// scoped by the instance tag.
	root := flag.String("runtime-root", tag.Scoped("/run/runc", os.Getenv(tag.Env)), "runtime state root (default /run/runc, or /run/runc-TAG with env GDN_TAG)")
	pea := flag.String("pea", "", "the process is this pea (its process directory is its bundle)")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("dadoo version", version.String())
		return
	}
	args := flag.Args()
	if err := tag.Validate(os.Getenv(tag.Env)); err != nil {
		fmt.Fprintln(os.Stderr, "dadoo:", err)
		os.Exit(exitUsage)
	}
	if len(args) != 3 || args[0] != "exec" || handle.Validate(args[1]) != nil {
		fmt.Fprintln(os.Stderr, "usage: dadoo -starter GDN_RUN -runtime-root ROOT exec HANDLE PROCESS_DIR")
		os.Exit(exitUsage)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("tool", "dadoo", "handle", args[1], "process_dir", args[2])
	spec, err := io.ReadAll(os.Stdin)
	sync := os.NewFile(dadoo.SyncFD, "sync")
	if err != nil {
		_ = dadoo.WriteSync(sync, 0, err)
		os.Exit(exitSetup)
	}
	status, err := dadoo.Monitor(dadoo.MonitorConfig{
		Starter:  dadoo.StarterArgv(*starter, *root, args[1], procdir.Dir(args[2]), *pea),
		Cleanup:  dadoo.CleanupArgv(*starter, *root, *pea),
		Dir:      procdir.Dir(args[2]),
		Spec:     spec,
		Sync:     sync,
		Log:      log,
		Wait:     waitBinary(),
		WaitArgv: append([]string{os.Args[0]}, dadoo.Args(*starter, *root, args[1], procdir.Dir(args[2]), *pea)...),
	})
	if err != nil {
		log.Error("monitor", "error", err)
		os.Exit(exitSetup)
	}
	os.Exit(status)
}

// waitBinary is dadoo-wait beside this binary, or "" if there is none
// (dadoo then waits for its process itself).
func waitBinary() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	p := filepath.Join(filepath.Dir(exe), "dadoo-wait")
	if unix.Access(p, unix.X_OK) != nil {
		return ""
	}
	return p
}
