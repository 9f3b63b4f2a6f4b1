package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/depot"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/flock"
	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/server"
	"github.com/gdn-dev/gdn/pkg/gardener"
	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/gdn-dev/gdn/pkg/network/link"
	"github.com/gdn-dev/gdn/pkg/runtime"
	"github.com/gdn-dev/gdn/pkg/spawn"
	"github.com/gdn-dev/gdn/pkg/tag"
	"github.com/spf13/cobra"
)

func serve(cmd *cobra.Command, o *options) error {
	log := cli.Logger(cmd)
	pool, err := netip.ParsePrefix(o.networkPool)
	if err != nil || !pool.Addr().Is4() || pool.Bits() > 30 {
		return fmt.Errorf("--network-pool %q: want an IPv4 CIDR of /30 or larger: %w", o.networkPool, errkind.Usage)
	}
	if err := o.resolveInstance(); err != nil {
		return err
	}
	// The spawn helper starts first, while this process holds few files:
	// it runs every tool, so that a fork's cost does not grow with the
	// files the live processes keep open here.
	spawner, err := spawn.New("/proc/self/exe", spawnHelperCmd)
	if err != nil {
		return err
	}
	defer spawner.Close()
	locks, err := claimInstance(o)
	if err != nil {
		return err
	}
	defer func() {
		for _, l := range locks {
			l.Release()
		}
	}()

	if err := o.defaultIDLengths(); err != nil {
		return err
	}
	var g *gardener.Gardener
	metrics := server.NewMetrics(func() float64 {
		hs, err := g.List(context.Background(), garden.Properties{gardener.PropState: "all"})
		if err != nil {
			return 0
		}
		return float64(len(hs))
	})
	cfg, err := gardenerConfig(o, log)
	if err != nil {
		return err
	}
	for _, t := range []*gardener.Tool{&cfg.Image, &cfg.PrivilegedImage, &cfg.Run, &cfg.Net} {
		t.Observe = metrics.ObserveTool
		t.Spawner = spawner
	}
	g = gardener.New(cfg)
	metrics.WatchContainers(g, server.ContainerMetricsConfig{MaxAge: o.metricsMaxAge})
	ln, err := listen(o)
	if err != nil {
		return err
	}
	// The debug listener is opened before any work, so that an address
	// that cannot be bound stops the start rather than leave a server
	// without metrics.
	var debugLn net.Listener
	if o.debugBindIP != "" {
		addr := net.JoinHostPort(o.debugBindIP, strconv.Itoa(o.debugBindPort))
		if debugLn, err = net.Listen("tcp", addr); err != nil {
			ln.Close()
			return fmt.Errorf("debug server (--debug-bind-ip/--debug-bind-port) cannot listen on %s: %w: %w", addr, err, errkind.Usage)
		}
		defer debugLn.Close()
	}
	ctx := cmd.Context()
	if err := g.InitStores(ctx); err != nil {
		return fmt.Errorf("prepare the image store: %w", err)
	}
	removed, err := g.Recover(ctx, o.destroyOnStartup)
	if err != nil {
		log.Error("startup recovery", "error", err)
	}
	if len(removed) > 0 {
		log.Info("startup recovery removed containers", "handles", removed)
	}

	srv := server.New(g, server.Config{
		DefaultGraceTime: o.defaultGraceTime,
		PoolSize:         1 << (32 - pool.Bits()) / 4,
		Log:              log,
		Observe:          metrics.Observe,
		Failed:           metrics.ObserveFailure,
		Reaped:           metrics.ObserveReap,
	})
	if err := srv.Restore(ctx); err != nil {
		log.Error("restore grace timers", "error", err)
	}
	if debugLn != nil {
		go func() {
			log.Info("debug server", "addr", debugLn.Addr().String())
			err := http.Serve(debugLn, server.DebugHandler(metrics)) //nolint:gosec // operator-only listener
			if !errors.Is(err, net.ErrClosed) {
				log.Error("debug server stopped", "error", err)
			}
		}()
	}
	// A slow client holds a connection no longer than these. There is no
	// ReadTimeout or WriteTimeout: they would cut hijacked Run/Attach and
	// stdout/stderr connections, stream-in and stream-out, which last as
	// long as their process or archive; JSON bodies get the server's own
	// read deadline (server.DefaultBodyTimeout), and idle keep-alive
	// connections are closed after idleTimeout.
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: o.readHeaderTimeout, IdleTimeout: idleTimeout}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String())

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-done:
		return err
	case sig := <-sigs:
		// Stop accepting, let ordinary requests finish, leave the
		// containers and their processes running.
		log.Info("shutting down", "signal", sig.String())
		srv.Detach()
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// claimInstance takes, without waiting, the locks that make this server
// the one owner of its depot (grace timers and process attachments would
// be doubled), its image store (its startup sweep deletes volumes no
// bundle names), its privileged image store likewise, and its socket (a second server would unlink a live
// one). A second server refuses at once, naming the holder, before it
// touches anything.
func claimInstance(o *options) ([]*flock.Lock, error) {
	claims := []claim{{"depot " + o.depot, o.depot, ".gdn-server.lock"}}
	if o.imagePlugin == "" {
		claims = append(claims, storeClaim("store", o.store))
	}
	if ownPrivilegedStore(o) {
		claims = append(claims, storeClaim("privileged store", o.privilegedStore))
	}
	if o.bindIP == "" {
		claims = append(claims, claim{"socket " + o.bindSocket, filepath.Dir(o.bindSocket), filepath.Base(o.bindSocket) + ".lock"})
	}
	var locks []*flock.Lock
	for _, c := range claims {
		err := os.MkdirAll(c.dir, 0o755)
		var l *flock.Lock
		if err == nil {
			l, err = flock.Claim(filepath.Join(c.dir, c.file))
		}
		var held *flock.HeldError
		if errors.As(err, &held) {
			err = fmt.Errorf("another gdn-server (pid %s) serves %s: %w", held.Holder, c.what, errkind.HandleInUse)
		}
		if err != nil {
			for _, l := range locks {
				l.Release()
			}
			return nil, err
		}
		locks = append(locks, l)
	}
	return locks, nil
}

type claim struct{ what, dir, file string }

// storeClaim is the lock of a store: beside it, since the store itself may
// be a mount made later.
func storeClaim(what, store string) claim {
	return claim{what + " " + store, filepath.Dir(store), "." + filepath.Base(store) + ".gdn-server.lock"}
}

// ownPrivilegedStore tells whether privileged containers get gdn-rootfs's
// second store: unless a plugin serves them (--privileged-image-plugin, or
// --image-plugin alone, which then serves both).
func ownPrivilegedStore(o *options) bool {
	return o.imagePlugin == "" && o.privilegedImagePlugin == ""
}

// idleTimeout closes a kept-alive connection with no new request (the
// reference client uses a connection per request).
const idleTimeout = 2 * time.Minute

// listen opens TCP when --bind-ip is set, else the unix socket (a stale
// file removed first, mode 0777 as the reference).
func listen(o *options) (net.Listener, error) {
	if o.bindIP != "" {
		return net.Listen("tcp", net.JoinHostPort(o.bindIP, strconv.Itoa(o.bindPort)))
	}
	if err := os.Remove(o.bindSocket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", o.bindSocket)
	if err != nil {
		return nil, err
	}
	return ln, os.Chmod(o.bindSocket, 0o777)
}

// gardenerConfig wires the tools: ours from the bin dir, or the plugins
// the flags name.
func gardenerConfig(o *options, log *slog.Logger) (gardener.Config, error) {
	initArgs, createArgs, err := o.imageFlags()
	if err != nil {
		return gardener.Config{}, err
	}
	image := gardener.Tool{Name: "image plugin", Path: o.imagePlugin, Args: o.imageArgs}
	if image.Path == "" {
		image = gardener.Tool{Name: "gdn-rootfs", Path: o.bin("gdn-rootfs"), Args: append([]string{"--store", o.store}, o.imageArgs...),
			CreateArgs: createArgs, InitArgs: initArgs}
	}
	// Privileged containers get gdn-rootfs's second store, made without
	// id mappings (the reference's privileged grootfs store), unless a
	// plugin serves them. A lone --image-plugin serves both, as before.
	var privImage gardener.Tool
	switch {
	case o.privilegedImagePlugin != "":
		privImage = gardener.Tool{Name: "privileged image plugin", Path: o.privilegedImagePlugin, Args: o.privilegedImageArgs}
	case ownPrivilegedStore(o):
		privImage = gardener.Tool{Name: "gdn-rootfs (privileged store)", Path: o.bin("gdn-rootfs"), Args: append([]string{"--store", o.privilegedStore}, o.privilegedImageArgs...),
			CreateArgs: createArgs, InitArgs: initArgs}
	}
	nt := gardener.Tool{Name: "network plugin", Path: o.networkPlugin, Args: o.networkArgs}
	if nt.Path == "" {
		args := []string{"--network-pool", o.networkPool, "--port-pool-start", strconv.FormatUint(uint64(o.portPoolStart), 10),
			"--port-pool-size", strconv.FormatUint(uint64(o.portPoolSize), 10)}
		if o.allowHostAccess {
			args = append(args, "--allow-host-access")
		}
		// Detected once here, as Guardian does, if not given: gdn-net
		// would list every route and address on the host at each up.
		if o.externalIP == "" {
			if ip, err := link.ExternalIP(); err == nil {
				o.externalIP = ip.String()
			} else {
				log.Warn("no external IP detected; gdn-net will try at each up", "error", err)
			}
		}
		if o.externalIP != "" {
			args = append(args, "--external-ip", o.externalIP)
		}
		if o.mtu > 0 {
			args = append(args, "--mtu", strconv.Itoa(o.mtu))
		}
		for _, v := range o.denyNetworks {
			args = append(args, "--deny-network", v)
		}
		for _, v := range o.dnsServers {
			args = append(args, "--dns-server", v)
		}
		for _, v := range o.extraDNS {
			args = append(args, "--additional-dns-server", v)
		}
		for _, v := range o.hostEntries {
			args = append(args, "--additional-host-entry", v)
		}
		nt = gardener.Tool{Name: "gdn-net", Path: o.bin("gdn-net"), Args: append(args, o.networkArgs...), Env: oneP()}
	}
	initBin := o.initBin
	if initBin == "" {
		initBin = o.bin("gdn-init")
	}
	props, err := depot.New(depot.Config{Dir: o.depot})
	if err != nil {
		return gardener.Config{}, err
	}
	// The host's facts every bundle depends on, probed once, as gdn-depot
	// create probes them at each run.
	bcfg, err := bundle.HostConfig()
	if err != nil {
		return gardener.Config{}, err
	}
	if bcfg.InitPath, err = filepath.Abs(initBin); err != nil {
		return gardener.Config{}, err
	}
	bcfg.CgroupParent = tag.Scoped(bundle.DefaultCgroupParent, o.tag)
	if err := bcfg.MapIDs(o.uidMapStart, o.uidMapLength, o.gidMapStart, o.gidMapLength); err != nil {
		return gardener.Config{}, fmt.Errorf("--uid-map-*/--gid-map-*: %w: %w", err, errkind.Usage)
	}
	return gardener.Config{
		DepotDir:                 o.depot,
		Props:                    props,
		Image:                    image,
		PrivilegedImage:          privImage,
		Run:                      gardener.Tool{Name: "gdn-run", Path: o.bin("gdn-run"), Env: oneP()},
		Net:                      nt,
		DefaultRootfs:            o.defaultRootfs,
		Bundle:                   bcfg,
		MaxContainers:            o.maxContainers,
		DisablePrivileged:        o.disablePrivileged,
		OwnImagePlugin:           o.imagePlugin == "",
		OwnPrivilegedImagePlugin: ownPrivilegedStore(o),
		OwnNetworkPlugin:         o.networkPlugin == "",
		NetworkMetrics:           o.networkMetrics,
		CleanupProcessDirsOnWait: o.cleanupProcessDirs,
		CPUEntitlementPerShare:   o.cpuEntitlementPerShare,
		Exec: gardener.ExecConfig{
			// gdn-run's own defaults, which the tools it starts use too.
			RuntimeRoot:  envOr("GDN_RUNTIME_ROOT", tag.Scoped(runtime.DefaultRoot, o.tag)),
			CgroupParent: tag.Scoped(runtime.DefaultCgroupParent, o.tag),
			Dadoo:        o.bin("dadoo"),
			Starter:      o.bin("gdn-run"),
			Env:          oneP(),
		},
		Log: log,
	}, nil
}

// oneP is what gdn-run, gdn-net and dadoo get added to their environment:
// GOMAXPROCS=1, unless the server's own environment sets GOMAXPROCS. A
// run of them is short and does one thing at a time; with one P the Go
// runtime starts fewer threads and does not spin looking for work, which
// was 3 to 7 ms of CPU less per create with 5 clients on 2 CPUs (make
// bench, interleaved). libcontainer hands the variable on to the
// container's init, dadoo to the gdn-run that starts the process; the
// container's own processes get their environment from their spec only.
// The image tool keeps the default: gdn-rootfs-fetch unpacks layers in
// parallel.
func oneP() []string {
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		return nil
	}
	return []string{"GOMAXPROCS=1"}
}

// defaultIDLengths gives a --uid-map-start (or gid) without a length the
// reference's default: every id from the start up to below the maximus.
func (o *options) defaultIDLengths() error {
	for _, r := range []struct {
		start, length *uint32
		path          string
	}{{&o.uidMapStart, &o.uidMapLength, idmap.UIDMapPath}, {&o.gidMapStart, &o.gidMapLength, idmap.GIDMapPath}} {
		if *r.start == 1 || *r.length > 0 {
			continue
		}
		maximus, err := idmap.ReadMaximus(r.path)
		if err != nil {
			return err
		}
		if *r.start >= maximus {
			return fmt.Errorf("id map start %d is not below the maximus %d: %w", *r.start, maximus, errkind.Usage)
		}
		*r.length = maximus - *r.start
	}
	return nil
}
