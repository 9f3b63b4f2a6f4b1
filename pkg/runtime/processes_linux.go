package runtime

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gdn-dev/gdn/pkg/procdir"
	"golang.org/x/sys/unix"
)

// dadooExitTimeout bounds the wait for a container's dadoos once their
// processes are dead; a dadoo still there after it is SIGKILLed.
const dadooExitTimeout = 2 * time.Second

// removeProcesses removes the process directories of the container whose
// bundle is given and ends their dadoos (TERM, then KILL after
// dadooExitTimeout). Their processes must already be dead (the init was
// killed), so no exit status is lost that anyone could still read.
func (r *Runtime) removeProcesses(bundle string) error {
	if bundle == "" {
		return nil
	}
	ids, err := procdir.List(bundle)
	if err != nil {
		return fmt.Errorf("processes of %q: %w", bundle, err)
	}
	var dadoos []pidfd
	for _, id := range ids {
		d, err := procdir.Path(bundle, id)
		if err != nil {
			continue
		}
		if fd, ok := openDadoo(d); ok {
			dadoos = append(dadoos, fd)
		}
	}
	defer func() {
		for _, fd := range dadoos {
			fd.close()
		}
	}()
	if err := os.RemoveAll(filepath.Join(bundle, procdir.Subdir)); err != nil {
		return fmt.Errorf("remove process dirs: %w", err)
	}
	// Their processes are dead and their directories gone: nothing a
	// dadoo still holds can be read any more.
	for _, fd := range dadoos {
		_ = fd.signal(unix.SIGTERM)
	}
	if done, _ := waitExit(dadoos, dadooExitTimeout); !done {
		for _, fd := range dadoos {
			_ = fd.signal(unix.SIGKILL)
		}
		_, _ = waitExit(dadoos, dadooExitTimeout)
	}
	return nil
}

// openDadoo opens a pidfd on the dadoo of process dir d, if it still
// runs. The pid in dadoo.pid may have been reused since that dadoo died,
// so the process's command line must name d.
func openDadoo(d procdir.Dir) (pidfd, bool) {
	pid, err := d.ReadPid(procdir.DadooPid)
	if err != nil {
		return -1, false
	}
	fd, ok, err := openPidfd(pid)
	if err != nil || !ok {
		return -1, false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !bytes.Contains(cmdline, []byte("\x00"+string(d)+"\x00")) && !bytes.HasSuffix(cmdline, []byte("\x00"+string(d))) {
		fd.close()
		return -1, false
	}
	return fd, true
}
