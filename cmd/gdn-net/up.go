package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/gdn-dev/gdn/pkg/network"
	"github.com/spf13/cobra"
)

// upOutput is gdn-net up's answer: the contract's properties with the
// external IP (Guardian adds that one itself).
type upOutput struct {
	Properties map[string]string `json:"properties"`
	DNSServers []string          `json:"dns_servers"`
}

func upCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "up [HANDLE]",
		Short: "Give a container its network (reads {\"Pid\":N,...} or gdn-run create's output on stdin)",
		Example: "  gdn-run create c1 --bundle B | gdn-net up\n  echo '{\"Pid\":1234,\"network\":\"10.80.0.6\"}' | gdn-net up c1\n" +
			"  echo '{\"Pid\":1234,\"limits\":{\"bandwidth_limits\":{\"rate\":1048576,\"burst\":65536}}}' | gdn-net up c1",
		Args: cli.HandleArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h := ""
			if len(args) == 1 {
				h = args[0]
			}
			return runUp(cmd, h, false)
		},
	}
}

// runUp is up; contract selects the plugin contract's answer.
func runUp(cmd *cobra.Command, h string, contract bool) error {
	var in network.UpInput
	if _, err := cli.DecodeStdin(cmd, &in); err != nil {
		return err
	}
	if h == "" {
		h = in.Handle
	}
	if err := handle.Validate(h); err != nil {
		return err
	}
	pidFd, _ := cmd.Flags().GetInt("pid-fd")
	if in.Pid <= 0 && pidFd < 0 {
		return fmt.Errorf("up %q: no pid on stdin (nor --pid-fd): %w", h, errkind.Usage)
	}
	n, err := newNetworker(cmd)
	if err != nil {
		return err
	}
	spec := network.UpSpec{Pid: in.Pid, Network: in.Network, NetOut: in.NetOut}
	if in.Pid <= 0 {
		spec.PidFrom = func() (int, error) { return readPid(pidFd) }
	}
	spec.DNSDir, _ = cmd.Flags().GetString("dns-dir")
	if in.Limits != nil {
		spec.Bandwidth = in.Limits.Bandwidth
	}
	if _, err := n.Up(cmd.Context(), h, spec); err != nil {
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
	if contract {
		return cli.Print(cmd, n.ContractUp(st), nil)
	}
	return cli.Print(cmd, upOutput{Properties: n.Properties(st), DNSServers: n.DNSServers(st)}, nil)
}

// readPid reads a pid from fd: a line with the number, as gdn-run create
// --pid-fd writes it. The writer closing fd without one (a runtime that
// failed to start the container) is an error.
func readPid(fd int) (int, error) {
	f := os.NewFile(uintptr(fd), "pid-fd")
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("--pid-fd %d: %w", fd, err)
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return 0, fmt.Errorf("--pid-fd %d closed without a pid (the container did not start): %w", fd, errkind.InvalidSpec)
	}
	pid, err := strconv.Atoi(line)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("--pid-fd %d: %q is not a pid: %w", fd, line, errkind.InvalidSpec)
	}
	return pid, nil
}
