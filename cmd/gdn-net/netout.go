package main

import (
	"fmt"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/network"
	"github.com/spf13/cobra"
)

func netOutCmd(bulk bool) *cobra.Command {
	use, short, example := "net-out HANDLE", "Allow traffic out by one Garden NetOutRule (JSON on stdin)",
		`  echo '{"protocol":1,"networks":[{"start":"10.0.0.1","end":"10.0.0.9"}],"ports":[{"start":80,"end":80}]}' | gdn-net net-out c1`
	if bulk {
		use, short, example = "bulk-net-out HANDLE", "Allow traffic out by a JSON array of Garden NetOutRules, in one transaction",
			`  echo '[{"protocol":2,"ports":[{"start":53,"end":53}]}]' | gdn-net bulk-net-out c1`
	}
	return &cobra.Command{
		Use: use, Short: short, Example: example,
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(netHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rules []network.NetOutRule
			var ok bool
			var err error
			if bulk {
				ok, err = cli.DecodeStdin(cmd, &rules)
			} else {
				var r network.NetOutRule
				ok, err = cli.DecodeStdin(cmd, &r)
				rules = []network.NetOutRule{r}
			}
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("no rule on stdin: %w", errkind.Usage)
			}
			return applyNetOut(cmd, args[0], rules)
		},
	}
}

func applyNetOut(cmd *cobra.Command, h string, rules []network.NetOutRule) error {
	n, err := newNetworker(cmd)
	if err != nil {
		return err
	}
	if err := n.NetOut(h, rules); err != nil {
		return err
	}
	return cli.Print(cmd, map[string]any{"handle": h, "rules": len(rules)}, nil)
}

// runNetOutAction is the contract's net-out ({"container_ip","netout_rule"})
// and bulk-net-out ({"container_ip","netout_rules"}).
func runNetOutAction(cmd *cobra.Command, h string, bulk bool) error {
	var in network.NetOutInput
	if _, err := cli.DecodeStdin(cmd, &in); err != nil {
		return err
	}
	if !bulk {
		if in.Rule == nil {
			return fmt.Errorf("net-out %q: no netout_rule on stdin: %w", h, errkind.Usage)
		}
		in.Rules = []network.NetOutRule{*in.Rule}
	}
	return applyNetOut(cmd, h, in.Rules)
}

// runNetInAction is the contract's net-in ({"HostIP","HostPort",
// "ContainerIP","ContainerPort"}); it answers {"host_port","container_port"}.
func runNetInAction(cmd *cobra.Command, h string) error {
	var in network.NetInInput
	if _, err := cli.DecodeStdin(cmd, &in); err != nil {
		return err
	}
	n, err := newNetworker(cmd)
	if err != nil {
		return err
	}
	m, err := n.NetIn(h, in.HostPort, in.ContainerPort)
	if err != nil {
		return err
	}
	return cli.Print(cmd, network.NetInOutput(m), nil)
}
