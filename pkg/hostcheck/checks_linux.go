package hostcheck

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/google/nftables"
	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"
)

// Run runs every check and returns the report. It changes nothing on the
// host.
func Run(cfg Config) Report {
	rootUID := cfg.ContainerRootUID
	if rootUID == 0 {
		if m, err := idmap.ReadMaximus(idmap.UIDMapPath); err == nil {
			rootUID = m
		}
	}
	rs := []Result{
		checkRoot(),
		checkUserns(),
		checkFilesystem("overlayfs", "overlay", "modprobe overlay (kernel module overlay), or a kernel built with CONFIG_OVERLAY_FS", true),
		checkIDMapped(cfg.StoreDir),
		checkFilesystem("btrfs", "btrfs", "modprobe btrfs, or a kernel built with CONFIG_BTRFS_FS (image store volumes and disk quotas are btrfs subvolumes)", true),
		checkProgs("btrfs-progs", "apt-get install btrfs-progs (gdn-rootfs runs mkfs.btrfs and btrfs)", true, "mkfs.btrfs", "btrfs"),
		checkLoop(),
		checkCgroupV1(),
		checkCgroupV2(),
		checkNftables(),
		checkForwarding(),
		checkCapabilities(),
	}
	rs = append(rs,
		checkDir("depot dir", cfg.DepotDir, rootUID, true),
		checkDir("store dir", cfg.StoreDir, rootUID, true),
		checkDir("net state dir", cfg.NetStateDir, rootUID, false),
	)
	if cfg.InitBin != "" {
		rs = append(rs, checkInit(cfg.InitBin, rootUID))
	}
	return newReport(rs)
}

func checkRoot() Result {
	if uid := os.Geteuid(); uid != 0 {
		return missing("root", fmt.Sprintf("running as uid %d", uid), "run gdn's tools as root (sudo gdn-server ...)", true)
	}
	return ok("root", "running as uid 0")
}

// checkUserns makes a user namespace for real: a child in a new one, with
// container root mapped to the host's largest uid, that runs true.
func checkUserns() Result {
	const name = "user namespaces"
	fix := "sysctl -w user.max_user_namespaces=15000 (and a kernel built with CONFIG_USER_NS)"
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(b)) == "0" {
		return missing(name, "user.max_user_namespaces is 0", fix, true)
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		return missing(name, "cannot test: no true(1) in PATH", "install coreutils", true)
	}
	cmd := exec.Command(truePath)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 65534, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 65534, Size: 1}},
	}
	if err := cmd.Run(); err != nil {
		return missing(name, "cannot start a process in a new user namespace: "+err.Error(), fix, true)
	}
	return ok(name, "a child started in a new user namespace")
}

// filesystems returns the names in /proc/filesystems.
func filesystems() map[string]bool {
	out := map[string]bool{}
	f, err := os.Open("/proc/filesystems")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 {
			out[fields[len(fields)-1]] = true
		}
	}
	return out
}

// checkFilesystem looks for fs in /proc/filesystems. A module not yet
// loaded is not there, but the kernel loads it on first mount: say so
// rather than call it missing when the module file exists.
func checkFilesystem(name, fs, fix string, blocker bool) Result {
	if filesystems()[fs] {
		return ok(name, fs+" in /proc/filesystems")
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		rel := unix.ByteSliceToString(u.Release[:])
		if mods, err := os.ReadFile(filepath.Join("/lib/modules", rel, "modules.dep")); err == nil &&
			strings.Contains(string(mods), "/"+fs+".ko") {
			return ok(name, fs+" module present, loaded on first mount")
		}
	}
	return missing(name, fs+" not in /proc/filesystems and no module for it", fix, blocker)
}

func checkProgs(name, fix string, blocker bool, progs ...string) Result {
	var absent []string
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			absent = append(absent, p)
		}
	}
	if len(absent) > 0 {
		return missing(name, "not in PATH: "+strings.Join(absent, ", "), fix, blocker)
	}
	return ok(name, strings.Join(progs, ", ")+" in PATH")
}

func checkLoop() Result {
	const name = "loop devices"
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		return missing(name, "no /dev/loop-control", "modprobe loop (needed when the store is not on btrfs: gdn-rootfs loop-mounts a btrfs image)", true)
	}
	return ok(name, "/dev/loop-control present")
}

// checkForwarding reads ip_forward; gdn-net turns it on itself, so off
// is no blocker.
func checkForwarding() Result {
	const name = "ip_forward"
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		return missing(name, "cannot read /proc/sys/net/ipv4/ip_forward: "+err.Error(), "mount /proc", true)
	}
	if strings.TrimSpace(string(b)) != "1" {
		return missing(name, "net.ipv4.ip_forward is 0 (gdn-net turns it on at its first up)",
			"sysctl -w net.ipv4.ip_forward=1 (persist in /etc/sysctl.d) so a later sysctl reload does not cut containers off", false)
	}
	return ok(name, "net.ipv4.ip_forward is 1")
}

// checkNftables lists the tables over netlink: read-only, and it needs
// the same kernel support and capability that gdn-net's changes need.
func checkNftables() Result {
	const name = "nftables"
	c, err := nftables.New()
	if err == nil {
		var ts []*nftables.Table
		ts, err = c.ListTables()
		if err == nil {
			return ok(name, fmt.Sprintf("netlink answers (%d tables in this netns)", len(ts)))
		}
	}
	return missing(name, "cannot list nftables tables: "+err.Error(), "modprobe nf_tables (a kernel with CONFIG_NF_TABLES), and run as root with CAP_NET_ADMIN", true)
}

// neededCaps are the capabilities gdn's tools use as root; without one
// of them creates fail.
var neededCaps = []capability.Cap{
	capability.CAP_CHOWN, capability.CAP_DAC_OVERRIDE, capability.CAP_FOWNER, capability.CAP_KILL,
	capability.CAP_SETGID, capability.CAP_SETUID, capability.CAP_SETPCAP, capability.CAP_NET_ADMIN,
	capability.CAP_SYS_CHROOT, capability.CAP_SYS_PTRACE, capability.CAP_SYS_ADMIN, capability.CAP_MKNOD,
}

// checkCapabilities compares the effective set with what gdn needs, and
// the bounding set with every capability a privileged container can be
// given.
func checkCapabilities() Result {
	const name = "capabilities"
	caps, err := capability.NewPid2(0)
	if err == nil {
		err = caps.Load()
	}
	if err != nil {
		return missing(name, "cannot read capabilities: "+err.Error(), "mount /proc", true)
	}
	var lacking []string
	for _, c := range neededCaps {
		if !caps.Get(capability.EFFECTIVE, c) {
			lacking = append(lacking, capName(c))
		}
	}
	if len(lacking) > 0 {
		return missing(name, "effective set lacks "+strings.Join(lacking, ", "),
			"run as root with full capabilities (no CapabilityBoundingSet= or --cap-drop around gdn-server)", true)
	}
	var notBound []string
	last, _ := capability.LastCap()
	for _, c := range capability.ListKnown() {
		if c <= last && !caps.Get(capability.BOUNDING, c) {
			notBound = append(notBound, capName(c))
		}
	}
	if len(notBound) > 0 {
		detail := "all gdn needs; the bounding set lacks " + strings.Join(notBound, ", ")
		fix := "give gdn-server a full bounding set (drop no capabilities in its systemd unit or container); without these no container can hold them"
		if slices.Contains(notBound, capName(capability.CAP_SYS_RESOURCE)) {
			fix += " (CAP_SYS_RESOURCE: containers' rlimits cannot exceed the host's hard limits, and privileged containers lack it)"
		}
		return missing(name, detail, fix, false)
	}
	return ok(name, "all gdn needs, and a full bounding set")
}

func capName(c capability.Cap) string { return "CAP_" + strings.ToUpper(c.String()) }

// checkDir checks that dir exists or can be made (its nearest existing
// parent is a writable directory) and, when reach is set, that container
// root (host uid and gid uid, gdn-depot's default mappings) can search
// every existing directory down to it, by gdn-depot create's own rule
// (bundle.Unsearchable).
func checkDir(name, dir string, uid uint32, reach bool) Result {
	if dir == "" {
		return ok(name, "not used")
	}
	existing := dir
	for {
		if _, err := os.Stat(existing); err == nil {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		existing = parent
	}
	if fi, err := os.Stat(existing); err != nil || !fi.IsDir() {
		return missing(name, existing+" is not a directory", "remove "+existing+" or choose another directory", true)
	}
	if err := unix.Access(existing, unix.W_OK|unix.X_OK); err != nil {
		return missing(name, fmt.Sprintf("%s is not writable: %v", existing, err), "choose a directory on a writable filesystem", true)
	}
	if reach {
		if b, how := bundle.Unsearchable(dir, idmap.Mappings(uid), idmap.Mappings(uid)); b != "" {
			return missing(name, dir+": "+blockedDetail(b, how, uid), "chmod o+x "+b+" (or choose a directory outside it)", true)
		}
	}
	state := "exists"
	if existing != dir {
		state = "will be made in " + existing
	}
	if reach {
		state += ", reachable by container root"
	}
	return ok(name, dir+" "+state)
}

func checkInit(path string, uid uint32) Result {
	const name = "init binary"
	fi, err := os.Stat(path)
	if err != nil {
		fix := "make build (bin/gdn-init), or --init-bin PATH"
		if errors.Is(err, os.ErrNotExist) {
			return missing(name, path+" does not exist", fix, true)
		}
		return missing(name, err.Error(), fix, true)
	}
	if b, how := bundle.Unsearchable(filepath.Dir(path), idmap.Mappings(uid), idmap.Mappings(uid)); b != "" {
		return missing(name, blockedDetail(b, how, uid), "install gdn-init where container root can reach it (e.g. /var/lib/gdn/bin, mode 0755), or chmod o+x "+b, true)
	}
	if fi.Mode().Perm()&0o005 != 0o005 {
		return missing(name, fmt.Sprintf("%s has mode %#o: container root cannot run it", path, fi.Mode().Perm()), "chmod 0755 "+path, true)
	}
	return ok(name, path+" reachable by container root")
}
