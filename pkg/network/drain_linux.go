package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/flock"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/gdn-dev/gdn/pkg/network/link"
)

// A detached down (DownDetached) takes a container's firewall down at
// once and leaves its devices to a child process: deleting a device waits
// for an RCU barrier under the kernel's RTNL lock (30-90 ms for a veth and
// a bridge here), which nobody destroying a container needs to wait for.
// The record of what is left to delete is a draining state: the
// container's state moved to StateDir/draining/<veth>.json, so that the
// handle is free at once for a new network, while the subnet, IP and ports
// stay allocated until the devices are gone.
//
// The child inherits the busy lock (shared) and the subnet's lock, so
// nothing that must wait for a down waits any less: an up in the subnet
// waits for the devices to go, and Cleanup for every child. A child killed
// before it is done leaves its draining state, which Cleanup finishes.

// drainWait bounds how long an up waits for detached downs to give a full
// pool's subnets back.
const drainWait = 10 * time.Second

// draining is a container's network whose devices are being deleted.
type draining struct {
	State
	// DeleteBridge says the subnet's bridge goes too: this was the subnet's
	// last container when its firewall went.
	DeleteBridge bool `json:"delete_bridge,omitempty"`
}

func (n *Networker) drainingDir() string { return filepath.Join(n.cfg.StateDir, "draining") }

// DownDetached is Down, except that the devices are deleted by the
// process reaper starts (argv; it must call Reap with the path it is
// given as its last argument, and keep its inherited files 3 and 4 open
// until it exits). It returns once the rules are gone and the handle is
// free.
func (n *Networker) DownDetached(_ context.Context, h string, reaper []string) (existed bool, err error) {
	if err := handle.Validate(h); err != nil {
		return false, err
	}
	busy, err := n.busy()
	if err != nil {
		return false, err
	}
	defer busy.Release()
	st, err := n.load(h)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	sub, err := flock.Acquire(n.subnetLock(st.Subnet))
	if err != nil {
		return true, err
	}
	defer sub.Release()
	last, err := n.lastInSubnet(st)
	if err != nil {
		return true, err
	}
	if err := n.firewallDown(st, last); err != nil {
		return true, err
	}
	crash.Point("gdn-net.down.nft")
	n.removeDNSFiles(st)
	d := draining{State: *st, DeleteBridge: last}
	d.DNSDir = ""
	path, err := n.saveDraining(d)
	if err != nil {
		return true, err
	}
	if err := os.Remove(n.statePath(h)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return true, err
	}
	crash.Point("gdn-net.down.state")
	cmd := exec.Command(reaper[0], append(reaper[1:], path)...)
	cmd.ExtraFiles = []*os.File{busy.File(), sub.File()}
	// A session of its own: no signal meant for this process's group
	// (a terminal's ^C, a server stopping its tools) reaches it, and no
	// pipe of ours stays open in it for a caller to wait on.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		// Not detached, then: done here, as Down does.
		if rerr := n.reap(path, d, true); rerr != nil {
			return true, errors.Join(fmt.Errorf("start %s: %w", reaper[0], err), rerr)
		}
		return true, nil
	}
	_ = cmd.Process.Release()
	return true, nil
}

// Reap deletes the devices of the draining state at path and gives its
// subnet, IP and ports back. The caller holds the busy and subnet locks:
// a child of DownDetached inherits them; Cleanup holds busy exclusively
// (and reap takes the subnet's).
func (n *Networker) Reap(path string) error {
	if filepath.Dir(path) != n.drainingDir() || !strings.HasSuffix(path, ".json") {
		return fmt.Errorf("reap %q: not a draining state of %s", path, n.drainingDir())
	}
	d, err := loadDraining(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return n.reap(path, d, true)
}

// reap deletes d's devices and then, if release, gives its subnet, IP and
// ports back before it removes the draining state at path: an up that
// waits for draining states to free a full pool sees the state until the
// pool has room. A reap killed in between leaves the state; Cleanup's
// reap then does not release (someone may hold the IP by then): its pool
// reconciliation frees what no state holds.
func (n *Networker) reap(path string, d draining, release bool) error {
	if err := n.deleteDevices(&d.State); err != nil {
		return err
	}
	if d.DeleteBridge {
		if err := link.Delete(d.Bridge, n.Owner()); err != nil {
			return err
		}
	}
	crash.Point("gdn-net.down.links")
	if release {
		if err := n.release(&d.State); err != nil {
			return err
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// reapOrphans finishes the draining states whose child died: called by
// Cleanup, which holds busy exclusively, so no child is running, and which
// then frees the allocations no state holds.
func (n *Networker) reapOrphans() ([]string, error) {
	var removed []string
	for path, d := range n.drainingStates() {
		err := n.withSubnet(d.Subnet, func() error { return n.reap(path, d, false) })
		if err != nil {
			return removed, err
		}
		removed = append(removed, "devices of "+d.Handle+" (a detached down died)")
	}
	return removed, nil
}

// draining tells whether a detached down has devices left to delete.
func (n *Networker) draining() bool {
	paths, _ := filepath.Glob(filepath.Join(n.drainingDir(), "*.json"))
	return len(paths) > 0
}

// drainingStates loads every draining state that can be read, by path.
func (n *Networker) drainingStates() map[string]draining {
	out := map[string]draining{}
	paths, _ := filepath.Glob(filepath.Join(n.drainingDir(), "*.json"))
	for _, p := range paths {
		if d, err := loadDraining(p); err == nil {
			out[p] = d
		}
	}
	return out
}

// allStates is every allocation's holder: the containers' states and the
// draining ones, for a pool rebuilt from them.
func (n *Networker) allStates() []*State {
	var out []*State
	for _, st := range n.states() {
		out = append(out, st)
	}
	for _, d := range n.drainingStates() {
		out = append(out, &d.State)
	}
	return out
}

func (n *Networker) saveDraining(d draining) (string, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	// The veth's name holds the network's own id (newID): unique.
	path := filepath.Join(n.drainingDir(), d.HostIf+".json")
	if err := os.MkdirAll(n.drainingDir(), 0o700); err != nil {
		return "", err
	}
	return path, atomicfile.WriteFile(path, data, 0o600)
}

func loadDraining(path string) (draining, error) {
	var d draining
	data, err := os.ReadFile(path)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return d, fmt.Errorf("draining state %s: %w", path, err)
	}
	return d, nil
}
