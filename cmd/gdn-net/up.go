package main

import (
	"fmt"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/gdn-dev/gdn/pkg/network"
	"github.com/spf13/cobra"
)

// upInput is the contract's up body ({"Pid","Properties","netin",
// "netout_rules"}); JSON keys match case-insensitively, so gdn-run
// create's {"handle","pid"} decodes too. Network is our addition: Garden's
// ContainerSpec.network.
type upInput struct {
	Handle     string               `json:"handle"`
	Pid        int                  `json:"pid"`
	Properties map[string]string    `json:"Properties"`
	Network    string               `json:"network"`
	NetOut     []network.NetOutRule `json:"netout_rules"`
	NetIn      []netInRequest       `json:"netin"`
}

type netInRequest struct {
	HostPort      uint32 `json:"host_port"`
	ContainerPort uint32 `json:"container_port"`
}

// upOutput is the contract's up answer.
type upOutput struct {
	Properties map[string]string `json:"properties"`
	DNSServers []string          `json:"dns_servers"`
}

func upCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "up [HANDLE]",
		Short:   "Give a container its network (reads {\"Pid\":N,...} or gdn-run create's output on stdin)",
		Example: "  gdn-run create c1 --bundle B | gdn-net up\n  echo '{\"Pid\":1234,\"network\":\"10.80.0.6\"}' | gdn-net up c1",
		Args:    cli.HandleArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h := ""
			if len(args) == 1 {
				h = args[0]
			}
			return runUp(cmd, h)
		},
	}
}

func runUp(cmd *cobra.Command, h string) error {
	var in upInput
	if _, err := cli.DecodeStdin(cmd, &in); err != nil {
		return err
	}
	if h == "" {
		h = in.Handle
	}
	if err := handle.Validate(h); err != nil {
		return err
	}
	if in.Pid <= 0 {
		return fmt.Errorf("up %q: no pid on stdin: %w", h, errkind.Usage)
	}
	n, err := newNetworker(cmd)
	if err != nil {
		return err
	}
	dnsDir, _ := cmd.Flags().GetString("dns-dir")
	if _, err := n.Up(cmd.Context(), h, in.Pid, in.Network, in.NetOut, dnsDir); err != nil {
		return err
	}
	for _, m := range in.NetIn {
		if _, err := n.NetIn(h, m.HostPort, m.ContainerPort); err != nil {
			_, _ = n.Down(cmd.Context(), h)
			return err
		}
	}
	st, err := n.Show(h)
	if err != nil {
		return err
	}
	return cli.Print(cmd, upOutput{Properties: n.Properties(st), DNSServers: n.DNSServers(st)}, nil)
}
