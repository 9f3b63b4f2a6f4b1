package network

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The examples of the network plugin contract as the reference
// (guardian-internals §4.2) writes them: its placeholders are filled in by
// fill, and its spacing is compacted away (Guardian marshals compactly).
const (
	refUpIn       = `{"Pid": <init pid>, "Properties": {...}, "netout_rules": [NetOutRule...], "netin": [{"host_port":H,"container_port":C}...]}`
	refUpOut      = `{"properties": {"garden.network.container-ip": "...", "garden.network.host-ip": "...", "garden.network.mapped-ports": "<json string>", "garden.network.interface": "..."}, "dns_servers": [...], "search_domains": [...]}`
	refNetInIn    = `{"HostIP": "<external ip>", "HostPort": H, "ContainerIP": "<ip>", "ContainerPort": C}`
	refNetInOut   = `{"host_port": H, "container_port": C}`
	refNetOutIn   = `{"container_ip": "...", "netout_rule": NetOutRule}`
	refBulkOutIn  = `{"container_ip": "...", "netout_rules": [NetOutRule...]}`
	refNetOutRule = `{"protocol": P, "networks": [{"start": ip, "end": ip}], "ports": [{"start": p, "end": p}], "icmps": {"type": t, "code": c}, "log": bool}`
)

// fill replaces the reference's placeholders (each given with enough of
// its context to be unique), and compacts.
func fill(t *testing.T, tmpl string, pairs ...string) []byte {
	t.Helper()
	s := strings.NewReplacer(pairs...).Replace(tmpl)
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		t.Fatalf("filled example is not JSON: %v\n%s", err, s)
	}
	return buf.Bytes()
}

// rules are two NetOutRules in the reference's shape: every field (tcp),
// and icmp with a type and code.
func rules(t *testing.T) (tcp, icmp []byte) {
	tcp = fill(t, refNetOutRule, `"protocol": P`, `"protocol": 1`, `"start": ip, "end": ip`, `"start": "10.253.7.1", "end": "10.253.7.9"`,
		`"start": p, "end": p`, `"start": 8000, "end": 8080`, `, "icmps": {"type": t, "code": c}`, "", `"log": bool`, `"log": true`)
	icmp = fill(t, refNetOutRule, `"protocol": P`, `"protocol": 3`, `"start": ip, "end": ip`, `"start": "10.253.7.1", "end": "10.253.7.1"`,
		`, "ports": [{"start": p, "end": p}]`, "", `"type": t`, `"type": 8`, `"code": c`, `"code": 0`, `, "log": bool`, "")
	return tcp, icmp
}

func roundTrip(t *testing.T, name string, want []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(want, v); err != nil {
		t.Fatalf("%s: decode %s: %v", name, want, err)
	}
	got, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s round trip:\n got %s\nwant %s", name, got, want)
	}
}

func upInExample(t *testing.T) []byte {
	tcp, icmp := rules(t)
	return fill(t, refUpIn, "<init pid>", "4242", "{...}", `{"zone":"a"}`,
		"NetOutRule...", string(tcp)+","+string(icmp), `"host_port":H`, `"host_port":0`, `"container_port":C}...]`, `"container_port":8080}]`)
}

func TestContractJSONRoundTrip(t *testing.T) {
	tcp, icmp := rules(t)
	roundTrip(t, "up input", upInExample(t), &UpInput{})
	roundTrip(t, "net-in input", fill(t, refNetInIn, "<external ip>", "192.0.2.1", `"HostPort": H`, `"HostPort": 61001`, "<ip>", "10.254.0.2", `"ContainerPort": C`, `"ContainerPort": 8080`), &NetInInput{})
	roundTrip(t, "net-in output", fill(t, refNetInOut, `"host_port": H`, `"host_port": 61001`, `"container_port": C`, `"container_port": 8080`), &NetInOutput{})
	roundTrip(t, "net-out input", fill(t, refNetOutIn, `"..."`, `"10.254.0.2"`, `"netout_rule": NetOutRule`, `"netout_rule": `+string(icmp)), &NetOutInput{})
	roundTrip(t, "bulk-net-out input", fill(t, refBulkOutIn, `"..."`, `"10.254.0.2"`, "NetOutRule...", string(tcp)+","+string(icmp)), &NetOutInput{})

	// gdn-run create's output is an up input too.
	var in UpInput
	if err := json.Unmarshal([]byte(`{"handle":"c1","pid":42}`), &in); err != nil || in.Pid != 42 || in.Handle != "c1" {
		t.Errorf("gdn-run create's output: %+v, %v", in, err)
	}
}

// TestContractUp feeds the reference's up example to a real Up, in a
// network namespace of the test's own, and compares what the contract
// answers with the reference's answer, byte for byte. Only values the
// reference leaves open ("...") are filled in, from what Up allocated,
// and gdn-net's one addition, the external IP, follows the reference's
// properties.
func TestContractUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	ns := exec.Command("unshare", "-n", "sleep", "60")
	if err := ns.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ns.Process.Kill(); _ = ns.Wait() })
	time.Sleep(100 * time.Millisecond)

	table := fmt.Sprintf("gdngotest_%d", os.Getpid())
	n, err := New(Config{
		StateDir: t.TempDir(), Pool: netip.MustParsePrefix("10.253.128.0/24"), Table: table,
		PortStart: 40400, PortSize: 2, ExternalIP: netip.MustParseAddr("192.0.2.1"),
		DNS: DNSConfig{Servers: []string{"10.253.200.1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("nft", "delete", "table", "ip", table).Run() })

	input := bytes.Replace(upInExample(t), []byte("4242"), []byte(fmt.Sprint(ns.Process.Pid)), 1)
	var in UpInput
	if err := json.Unmarshal(input, &in); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := n.Up(ctx, "contract", UpSpec{Pid: in.Pid, Network: in.Network, NetOut: in.NetOut}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = n.Down(ctx, "contract") })
	for _, m := range in.NetIn {
		if _, err := n.NetIn("contract", m.HostPort, m.ContainerPort); err != nil {
			t.Fatal(err)
		}
	}
	st, err := n.Show("contract")
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(n.ContractUp(st))
	if err != nil {
		t.Fatal(err)
	}
	want := fill(t, refUpOut,
		`"garden.network.container-ip": "..."`, `"garden.network.container-ip": "10.253.128.2"`,
		`"garden.network.host-ip": "..."`, `"garden.network.host-ip": "10.253.128.1"`,
		`"<json string>"`, `"[{\"HostPort\":40400,\"ContainerPort\":8080}]"`,
		`"garden.network.interface": "..."`, `"garden.network.interface": "`+st.ContainerIf+`", "garden.network.external-ip": "192.0.2.1"`,
		`"dns_servers": [...]`, `"dns_servers": ["10.253.200.1"]`,
		`"search_domains": [...]`, `"search_domains": []`)
	if !bytes.Equal(got, want) {
		t.Errorf("up output:\n got %s\nwant %s", got, want)
	}
}
