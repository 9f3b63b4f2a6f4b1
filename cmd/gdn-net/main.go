// Command gdn-net is gdn's networker: it gives containers a subnet, a veth
// on a bridge and NAT, and removes them again. It speaks Guardian's network
// plugin contract (--action up|down --handle H) as well as subcommands.
package main

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/network"
	"github.com/gdn-dev/gdn/pkg/network/nft"
	"github.com/gdn-dev/gdn/pkg/network/port"
	"github.com/gdn-dev/gdn/pkg/network/subnet"
	"github.com/gdn-dev/gdn/pkg/tag"
	"github.com/spf13/cobra"
)

func main() {
	var action, h string
	root := &cobra.Command{
		Use:   "gdn-net",
		Short: "Container networking: subnets, bridge, veth, NAT (Guardian network plugin)",
		Example: "  gdn-run create c1 --bundle /var/run/gdn/depot/c1 | gdn-net up c1\n" +
			"  echo '{\"Pid\":1234}' | gdn-net --action up --handle c1",
		Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch action {
			case "up":
				return runUp(cmd, h, true)
			case "down":
				return runDown(cmd, h)
			case "net-in":
				return runNetInAction(cmd, h)
			case "net-out", "bulk-net-out":
				return runNetOutAction(cmd, h, action == "bulk-net-out")
			case "":
				return cmd.Help()
			}
			return fmt.Errorf("unrecognized action %q: %w", action, errkind.Usage)
		},
	}
	// The instance tag scopes the defaults (an invalid one is reported by
	// newNetworker, with its flags parsed).
	instanceTag, tagErr = tag.FromEnv()
	f := root.PersistentFlags()
	f.String("state-dir", envOr("GDN_NET_STATE", tag.Scoped(network.DefaultStateDir, instanceTag)),
		"state directory (env GDN_NET_STATE; default scoped by env "+tag.Env+")")
	f.String("network-pool", subnet.DefaultPool.String(), "dynamic subnet pool")
	f.Uint32("port-pool-start", port.DefaultStart, "first host port for net-in")
	f.Uint32("port-pool-size", port.DefaultSize, "number of host ports for net-in")
	f.Int("mtu", network.DefaultMTU, "MTU of container interfaces")
	f.String("external-ip", "", "the host's external IP (default: that of the default route's interface)")
	f.StringArray("deny-network", nil, "CIDR containers may not reach unless a net-out rule allows it (repeatable)")
	f.Bool("allow-host-access", false, "let containers open connections to the host itself")
	f.StringArray("dns-server", nil, "nameserver for containers, instead of the host's (repeatable)")
	f.StringArray("additional-dns-server", nil, "nameserver added after the others (repeatable)")
	f.StringArray("additional-host-entry", nil, "line added to containers' /etc/hosts (repeatable)")
	f.String("nft-table", envOr("GDN_NET_TABLE", tag.Scoped(nft.DefaultTable, instanceTag)),
		"nftables table (family ip) of gdn's rules; devices are marked with it (env GDN_NET_TABLE; default scoped by env "+tag.Env+")")
	root.Flags().StringVar(&action, "action", "", "network plugin contract: up, down, net-in, net-out or bulk-net-out")
	root.Flags().StringVar(&h, "handle", "", "network plugin contract: the container handle")
	root.PersistentFlags().String("dns-dir", "", "up: write the container's hosts and resolv.conf here")
	root.PersistentFlags().Int("pid-fd", -1, "up: read the container's pid from this file descriptor (one line, as gdn-run create --pid-fd writes it) when stdin has none; up makes what needs no pid (allocation, firewall, bridge) while it waits")
	root.PersistentFlags().Bool("detach-devices", false, "down: return once the rules are gone and leave the devices' deletion to a background process (the subnet, IP and ports are given back when the devices are gone)")
	root.AddCommand(upCmd(), downCmd(), showCmd(), netInCmd(), netOutCmd(false), netOutCmd(true),
		listCmd(), statsCmd(), cleanupCmd(), setupCmd(), bandwidthCmd(), reapCmd())
	os.Exit(cli.Execute(root))
}

// instanceTag is the instance tag (env GDN_TAG), tagErr what is wrong
// with it.
var (
	instanceTag string
	tagErr      error
)

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// newNetworker builds the networker from the global flags.
func newNetworker(cmd *cobra.Command) (*network.Networker, error) {
	if tagErr != nil {
		return nil, tagErr
	}
	f := cmd.Flags()
	var cfg network.Config
	cfg.StateDir, _ = f.GetString("state-dir")
	pool, _ := f.GetString("network-pool")
	var err error
	if cfg.Pool, err = netip.ParsePrefix(pool); err != nil {
		return nil, fmt.Errorf("--network-pool %q: %w", pool, errkind.Usage)
	}
	cfg.PortStart, _ = f.GetUint32("port-pool-start")
	cfg.PortSize, _ = f.GetUint32("port-pool-size")
	cfg.MTU, _ = f.GetInt("mtu")
	if ext, _ := f.GetString("external-ip"); ext != "" {
		if cfg.ExternalIP, err = netip.ParseAddr(ext); err != nil {
			return nil, fmt.Errorf("--external-ip %q: %w", ext, errkind.Usage)
		}
	}
	denies, _ := f.GetStringArray("deny-network")
	for _, d := range denies {
		p, err := netip.ParsePrefix(d)
		if err != nil {
			return nil, fmt.Errorf("--deny-network %q: %w", d, errkind.Usage)
		}
		cfg.Deny = append(cfg.Deny, p.Masked())
	}
	cfg.AllowHostAccess, _ = f.GetBool("allow-host-access")
	cfg.Table, _ = f.GetString("nft-table")
	if !validTable(cfg.Table) {
		return nil, fmt.Errorf("--nft-table %q: want 1 to 32 of A-Z a-z 0-9 _ -: %w", cfg.Table, errkind.Usage)
	}
	cfg.DNS.Servers, _ = f.GetStringArray("dns-server")
	cfg.DNS.Additional, _ = f.GetStringArray("additional-dns-server")
	cfg.DNS.HostEntries, _ = f.GetStringArray("additional-host-entry")
	return network.New(cfg)
}

// validTable: a name nft(8) shows and takes back unquoted, which also
// fits a device alias.
func validTable(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// netHandles lists the handles with a network, for shell completion.
func netHandles(cmd *cobra.Command, _ []string) ([]string, error) {
	n, err := newNetworker(cmd)
	if err != nil {
		return nil, err
	}
	return n.List()
}
