package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// floorCgroup is the parent of the floors' cgroups.
const floorCgroup = "/gdnbench-floor"

// floors runs Debian's runc on a bundle gdn-depot wrote (the same config
// gdn's containers get: user namespace, seccomp, cgroups, masked paths),
// so that every gdn figure has a floor measured in the same run.
type floors struct {
	runc   string
	root   string // runc's state root, apart from gdn's
	run    string // bundle whose process is /bin/true
	exec   string // bundle of the sleeping container exec goes into
	execID string
}

// newFloors writes the two bundles from a gdn-depot bundle at src (its
// config.json) and starts the container that exec floors go into.
func newFloors(work, src string) *floors {
	f := &floors{runc: "runc", root: filepath.Join(work, "runc-root"), execID: "floor-exec"}
	raw, err := os.ReadFile(filepath.Join(src, "config.json"))
	check(err)
	write := func(name string, args []string) string {
		// Numbers stay as written: seccomp masks do not fit a float64.
		var cfg map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		check(dec.Decode(&cfg))
		// A cgroup of its own: the run floor's containers come and go
		// while the exec floor's lives.
		cfg["linux"].(map[string]any)["cgroupsPath"] = floorCgroup + "/" + name
		proc := cfg["process"].(map[string]any)
		if args != nil {
			proc["args"] = args
		}
		dir := filepath.Join(work, name)
		check(os.MkdirAll(dir, 0o755))
		b, err := json.Marshal(cfg)
		check(err)
		check(os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644))
		return dir
	}
	f.run = write("floor-run", []string{"/bin/true"})
	f.exec = write("floor-exec", nil)
	// The detached init keeps its stdio: files, not pipes, so that
	// nothing waits for it to close them.
	errf, err := os.CreateTemp(work, "runc-stderr")
	check(err)
	defer errf.Close()
	cmd := exec.Command(f.runc, "--root", f.root, "run", "--detach", "--bundle", f.exec, f.execID)
	cmd.Stderr = errf
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(errf.Name())
		panic(fmt.Sprintf("runc run --detach: %v: %s", err, msg))
	}
	return f
}

// runTrue is `runc run` of /bin/true: create, start, wait, delete.
func (f *floors) runTrue(i int) time.Duration {
	start := time.Now()
	run(f.runc, "--root", f.root, "run", "--bundle", f.run, fmt.Sprintf("floor-run-%d", i))
	return time.Since(start)
}

// execTrue is `runc exec` of /bin/true into the sleeping container.
func (f *floors) execTrue() time.Duration {
	start := time.Now()
	run(f.runc, "--root", f.root, "exec", f.execID, "/bin/true")
	return time.Since(start)
}

// pipe is `runc exec … dd | cat`: n MiB of stdout through a raw pipe
// into this process; it returns the bytes per second.
func (f *floors) pipe(mib int) float64 {
	cmd := exec.Command(f.runc, "--root", f.root, "exec", f.execID,
		"/bin/dd", "if=/dev/zero", "bs=1048576", fmt.Sprintf("count=%d", mib))
	out, err := cmd.StdoutPipe()
	check(err)
	var errb strings.Builder
	cmd.Stderr = &errb
	start := time.Now()
	check(cmd.Start())
	n, err := io.Copy(io.Discard, out)
	check(err)
	if err := cmd.Wait(); err != nil {
		panic(fmt.Sprintf("runc exec dd: %v: %s", err, errb.String()))
	}
	if n != int64(mib)<<20 {
		panic(fmt.Sprintf("raw pipe: %d bytes, want %d", n, mib<<20))
	}
	return float64(n) / time.Since(start).Seconds()
}

func (f *floors) close() {
	_ = exec.Command(f.runc, "--root", f.root, "kill", f.execID, "KILL").Run()
	for range 100 {
		if exec.Command(f.runc, "--root", f.root, "delete", f.execID).Run() == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = exec.Command(f.runc, "--root", f.root, "delete", "--force", f.execID).Run()
}

// removeFloorCgroups removes the floors' empty cgroup parents in every
// hierarchy (runc leaves the parent it made).
func removeFloorCgroups() {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + floorCgroup)
	dirs2, _ := filepath.Glob("/sys/fs/cgroup" + floorCgroup)
	for _, d := range append(dirs, dirs2...) {
		subs, _ := filepath.Glob(d + "/*/")
		for _, s := range subs {
			_ = os.Remove(s)
		}
		_ = os.Remove(d)
	}
}
