package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gdn-dev/gdn/pkg/bytesize"
	"github.com/gdn-dev/gdn/pkg/depot"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/tag"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// options are gdn-server's flags, named as the reference's `gdn server`
// names them where they apply.
type options struct {
	config                             string
	bindSocket, bindIP                 string
	bindPort                           int
	debugBindIP                        string
	debugBindPort                      int
	tag                                string
	readHeaderTimeout                  time.Duration
	depot, store, binDir, initBin      string
	privilegedStore                    string
	storeSize                          string
	insecureRegistries                 []string
	defaultRootfs                      string
	defaultGraceTime                   time.Duration
	maxContainers                      int
	disablePrivileged                  bool
	destroyOnStartup                   bool
	networkMetrics                     bool
	metricsMaxAge                      time.Duration
	cleanupProcessDirs                 bool
	uidMapStart, uidMapLength          uint32
	gidMapStart, gidMapLength          uint32
	imagePlugin, privilegedImagePlugin string
	rootfsOnHost                       bool
	imageArgs, privilegedImageArgs     []string
	networkPlugin                      string
	networkArgs                        []string
	networkPool                        string
	denyNetworks                       []string
	allowHostAccess                    bool
	dnsServers, extraDNS, hostEntries  []string
	externalIP                         string
	portPoolStart, portPoolSize        uint32
	mtu                                int
	cpuEntitlementPerShare             float64
}

func (o *options) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "read settings from `FILE`: lines \"flag-name = value\" (a [server] header and # comments are ignored); flags given on the command line win")
	f.StringVar(&o.tag, "tag", os.Getenv(tag.Env), "scope this instance's host-global names by TAG (cgroup parent /garden-TAG, nft table gdn-TAG, default directories and socket), so several servers share a host; handed to every tool as env "+tag.Env)
	f.StringVar(&o.bindSocket, "bind-socket", "", "unix socket to listen on (a stale file is removed; default /tmp/garden.sock, /tmp/garden-TAG.sock with --tag)")
	f.StringVar(&o.bindIP, "bind-ip", "", "listen on TCP at this IP instead of the socket")
	f.IntVar(&o.bindPort, "bind-port", 0, "TCP port (with --bind-ip; 0: any)")
	f.StringVar(&o.debugBindIP, "debug-bind-ip", "", "serve pprof, /debug/vars and /metrics on this IP")
	f.IntVar(&o.debugBindPort, "debug-bind-port", 17013, "debug server port")
	f.DurationVar(&o.readHeaderTimeout, "read-header-timeout", 30*time.Second, "how long a request's header may take to arrive (0: no limit; the reference's default)")
	f.StringVar(&o.depot, "depot", "", "container bundles (gdn-depot --depot; env GDN_DEPOT; default "+depot.DefaultDir+", suffixed -TAG with --tag)")
	f.StringVar(&o.store, "store", "", "gdn-rootfs's image store (gdn-rootfs --store; env GDN_STORE; default "+defaultStore+", suffixed -TAG with --tag)")
	f.StringVar(&o.privilegedStore, "privileged-store", "", "gdn-rootfs's image store for privileged containers, made without id mappings so that their files belong to root (default: the store's path + \"-privileged\")")
	f.StringVar(&o.storeSize, "store-size-bytes", "", "size of a store gdn-rootfs makes on a loop-mounted sparse btrfs file, when its directory is not on btrfs (bytes, or with K/M/G/T; default 20G); a store that exists keeps its size")
	f.StringArrayVar(&o.insecureRegistries, "insecure-docker-registry", nil, "registry `HOST[:PORT]` gdn-rootfs may reach over plain HTTP (repeatable; given to its create, not to other commands; a foreign --image-plugin takes its own flags through --image-plugin-extra-arg)")
	f.StringVar(&o.binDir, "bin-dir", "", "where gdn's tools are (default: this executable's directory)")
	f.StringVar(&o.initBin, "init-bin", "", "gdn-init, the containers' pid 1; unprivileged container root (host uid 4294967294) must be able to reach it (default: BIN-DIR/gdn-init)")
	f.StringVar(&o.defaultRootfs, "default-rootfs", "", "rootfs (directory or image URI) for containers created without one")
	f.DurationVar(&o.defaultGraceTime, "default-grace-time", 0, "grace time of containers created without one (0: never reaped)")
	f.IntVar(&o.maxContainers, "max-containers", 0, "refuse creates beyond this many containers (0: no limit)")
	f.BoolVar(&o.disablePrivileged, "disable-privileged-containers", false, "refuse privileged containers")
	f.BoolVar(&o.destroyOnStartup, "destroy-containers-on-startup", false, "destroy every existing container at start")
	f.BoolVar(&o.networkMetrics, "enable-container-network-metrics", false, "report network bytes in metrics")
	f.DurationVar(&o.metricsMaxAge, "container-metrics-max-age", 5*time.Second, "how old the per-container values on the debug server's /metrics may be before a scrape has them gathered again (in the background: a scrape answers at once with the last values)")
	f.Uint32Var(&o.uidMapStart, "uid-map-start", 1, "first host uid of unprivileged containers' uids 1.. (container root is the host's largest uid)")
	f.Uint32Var(&o.uidMapLength, "uid-map-length", 0, "how many uids from --uid-map-start (0: all the rest, identity)")
	f.Uint32Var(&o.gidMapStart, "gid-map-start", 1, "first host gid of unprivileged containers' gids 1..")
	f.Uint32Var(&o.gidMapLength, "gid-map-length", 0, "how many gids from --gid-map-start (0: all the rest, identity)")
	f.BoolVar(&o.cleanupProcessDirs, "cleanup-process-dirs-on-wait", false, "remove a process's directory once a client has its exit status (it can be waited for or attached to only once)")
	f.BoolVar(&o.rootfsOnHost, "rootfs-on-host", false, "have gdn-rootfs mount each container's overlay on the host as well (at STORE/volumes/HANDLE/rootfs); by default it exists only in the container's mount namespace (gdn-rootfs create --without-mount, grootfs's skip_mount), so the host's mount table does not grow with containers")
	f.StringVar(&o.imagePlugin, "image-plugin", "", "image plugin binary (default: BIN-DIR/gdn-rootfs)")
	f.StringArrayVar(&o.imageArgs, "image-plugin-extra-arg", nil, "argument passed to the image plugin before its command (repeatable)")
	f.StringVar(&o.privilegedImagePlugin, "privileged-image-plugin", "", "image plugin for privileged containers (default: gdn-rootfs on --privileged-store; with --image-plugin alone, that plugin)")
	f.StringArrayVar(&o.privilegedImageArgs, "privileged-image-plugin-extra-arg", nil, "argument passed to the privileged image plugin (repeatable)")
	f.StringVar(&o.networkPlugin, "network-plugin", "", "network plugin binary (default: BIN-DIR/gdn-net with the network flags below)")
	f.StringArrayVar(&o.networkArgs, "network-plugin-extra-arg", nil, "argument passed to the network plugin before --action (repeatable)")
	f.StringVar(&o.networkPool, "network-pool", "10.254.0.0/22", "pool of container subnets (a /30 each)")
	f.StringArrayVar(&o.denyNetworks, "deny-network", nil, "CIDR containers may not reach unless a net-out rule allows it (repeatable)")
	f.BoolVar(&o.allowHostAccess, "allow-host-access", false, "let containers open connections to the host")
	f.StringArrayVar(&o.dnsServers, "dns-server", nil, "nameserver for containers instead of the host's (repeatable)")
	f.StringArrayVar(&o.extraDNS, "additional-dns-server", nil, "nameserver added after the others (repeatable)")
	f.StringArrayVar(&o.hostEntries, "additional-host-entry", nil, "line added to containers' /etc/hosts (repeatable)")
	f.StringVar(&o.externalIP, "external-ip", "", "IP reported as ExternalIP and used for net-in (default: detected)")
	f.Uint32Var(&o.portPoolStart, "port-pool-start", 61001, "first host port for net-in")
	f.Uint32Var(&o.portPoolSize, "port-pool-size", 4534, "number of host ports for net-in")
	f.IntVar(&o.mtu, "mtu", 0, "container MTU (default: gdn-net's)")
	f.Float64Var(&o.cpuEntitlementPerShare, "cpu-entitlement-per-share", 100.0/1024, "percent of a CPU each cpu share is entitled to (metrics)")
}

// loadConfigFile applies --config: each line sets a flag unless the
// command line already did (repeatable flags may appear on several lines).
func (o *options) loadConfigFile(cmd *cobra.Command) error {
	if o.config == "" {
		return nil
	}
	f, err := os.Open(o.config)
	if err != nil {
		return fmt.Errorf("--config: %w: %w", err, errkind.Usage)
	}
	defer f.Close()
	flags := cmd.Flags()
	given := map[string]bool{}
	flags.Visit(func(fl *pflag.Flag) { given[fl.Name] = true })
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") || strings.HasPrefix(line, "[") {
			continue
		}
		name, value, found := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.Trim(strings.TrimSpace(value), `"`)
		if !found {
			value = "true"
		}
		if name == "config" || flags.Lookup(name) == nil {
			return fmt.Errorf("--config %s:%d: unknown setting %q: %w", o.config, n, name, errkind.Usage)
		}
		if given[name] {
			continue
		}
		if err := flags.Set(name, value); err != nil {
			return fmt.Errorf("--config %s:%d: %s: %v: %w", o.config, n, name, err, errkind.Usage)
		}
	}
	return sc.Err()
}

// defaultStore is gdn-rootfs's default store (rootfs.DefaultDir, not
// imported: it would link the image libraries into the server).
const defaultStore = "/var/lib/gdn/store"

// resolveInstance validates --tag, hands it to the tools through the
// environment, and fills the defaults that depend on it.
func (o *options) resolveInstance() error {
	if err := tag.Validate(o.tag); err != nil {
		return fmt.Errorf("--tag: %w", err)
	}
	if err := os.Setenv(tag.Env, o.tag); err != nil {
		return err
	}
	if o.depot == "" {
		o.depot = envOr("GDN_DEPOT", tag.Scoped(depot.DefaultDir, o.tag))
	}
	if o.store == "" {
		o.store = envOr("GDN_STORE", tag.Scoped(defaultStore, o.tag))
	}
	if o.privilegedStore == "" {
		o.privilegedStore = o.store + "-privileged"
	}
	if o.bindSocket == "" {
		o.bindSocket = tag.Scoped("/tmp/garden", o.tag) + ".sock"
	}
	return nil
}

// imageFlags validates --store-size-bytes and --insecure-docker-registry
// and returns the arguments they give gdn-rootfs's init-store and create.
func (o *options) imageFlags() (initArgs, createArgs []string, err error) {
	if o.storeSize != "" {
		n, err := bytesize.Parse(o.storeSize)
		if err != nil || n == 0 {
			return nil, nil, fmt.Errorf("--store-size-bytes %q: want a size above 0 (e.g. 50G): %w", o.storeSize, errkind.Usage)
		}
		initArgs = []string{"--store-size-bytes", strconv.FormatUint(n, 10)}
	}
	for _, r := range o.insecureRegistries {
		host, port, splitErr := net.SplitHostPort(r)
		if splitErr != nil {
			host, port = r, ""
		}
		if host == "" || strings.ContainsAny(r, "/ \t@") || (port != "" && !validPort(port)) {
			return nil, nil, fmt.Errorf("--insecure-docker-registry %q: want HOST or HOST:PORT: %w", r, errkind.Usage)
		}
		createArgs = append(createArgs, "--insecure-registry", r)
	}
	if !o.rootfsOnHost {
		createArgs = append(createArgs, "--without-mount")
	}
	return initArgs, createArgs, nil
}

func validPort(p string) bool {
	n, err := strconv.ParseUint(p, 10, 16)
	return err == nil && n > 0
}

// bin returns the path of tool name: in --bin-dir, else beside us.
func (o *options) bin(name string) string {
	dir := o.binDir
	if dir == "" {
		if self, err := os.Executable(); err == nil {
			dir = filepath.Dir(self)
		}
	}
	return filepath.Join(dir, name)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
