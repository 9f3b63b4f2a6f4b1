package network

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/network/nft"
)

// rule decodes a NetOutRule from its Garden JSON, as gdn-net receives it.
func rule(t *testing.T, js string) NetOutRule {
	t.Helper()
	var r NetOutRule
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return r
}

func TestNetOutRuleTranslation(t *testing.T) {
	a := netip.MustParseAddr
	u8 := func(v uint8) *uint8 { return &v }
	cases := []struct {
		name    string
		rule    string
		want    []nft.Allow
		wantErr string
	}{
		{name: "all, anywhere", rule: `{}`, want: []nft.Allow{{LogPrefix: "h1 "}}},
		{
			name: "tcp to two ranges and two port ranges: one rule each pair",
			rule: `{"protocol":1,"networks":[{"start":"10.0.0.1","end":"10.0.0.9"},{"start":"8.8.8.8","end":"8.8.8.8"}],"ports":[{"start":80,"end":80},{"start":8000,"end":8999}],"log":true}`,
			want: []nft.Allow{
				{DstFrom: a("10.0.0.1"), DstTo: a("10.0.0.9"), Proto: 6, PortFrom: 80, PortTo: 80, Log: true, LogPrefix: "h1 "},
				{DstFrom: a("10.0.0.1"), DstTo: a("10.0.0.9"), Proto: 6, PortFrom: 8000, PortTo: 8999, Log: true, LogPrefix: "h1 "},
				{DstFrom: a("8.8.8.8"), DstTo: a("8.8.8.8"), Proto: 6, PortFrom: 80, PortTo: 80, Log: true, LogPrefix: "h1 "},
				{DstFrom: a("8.8.8.8"), DstTo: a("8.8.8.8"), Proto: 6, PortFrom: 8000, PortTo: 8999, Log: true, LogPrefix: "h1 "},
			},
		},
		{name: "udp", rule: `{"protocol":2,"ports":[{"start":53,"end":53}]}`, want: []nft.Allow{{Proto: 17, PortFrom: 53, PortTo: 53, LogPrefix: "h1 "}}},
		{
			name: "icmp with type and code", rule: `{"protocol":3,"icmps":{"type":8,"code":0}}`,
			want: []nft.Allow{{Proto: 1, ICMPType: u8(8), ICMPCode: u8(0), LogPrefix: "h1 "}},
		},
		{name: "icmp any code", rule: `{"protocol":3,"icmps":{"type":8}}`, want: []nft.Allow{{Proto: 1, ICMPType: u8(8), LogPrefix: "h1 "}}},
		{name: "icmpv6 is refused", rule: `{"protocol":4}`, wantErr: "invalid protocol: 4"},
		{name: "unknown protocol", rule: `{"protocol":9}`, wantErr: "invalid protocol: 9"},
		{name: "ports need tcp or udp", rule: `{"protocol":0,"ports":[{"start":1,"end":2}]}`, wantErr: "Ports cannot be specified for Protocol ALL/ICMP"},
		{name: "ports with icmp", rule: `{"protocol":3,"ports":[{"start":1,"end":2}]}`, wantErr: "Ports cannot be specified"},
		{name: "icmp control needs icmp", rule: `{"protocol":1,"icmps":{"type":8}}`, wantErr: "ICMP control needs protocol icmp"},
		{name: "backwards ports", rule: `{"protocol":1,"ports":[{"start":9,"end":1}]}`, wantErr: "port range 9-1 is backwards"},
		{name: "backwards network", rule: `{"networks":[{"start":"10.0.0.9","end":"10.0.0.1"}]}`, wantErr: "is not an IPv4 range"},
		{name: "half a network", rule: `{"networks":[{"start":"10.0.0.9"}]}`, wantErr: "is not an IPv4 range"},
		{name: "IPv6 network", rule: `{"networks":[{"start":"::1","end":"::2"}]}`, wantErr: "is not an IPv4 range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := translate("h1", []NetOutRule{rule(t, tc.rule)})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || errkind.Of(err) != errkind.InvalidSpec {
					t.Fatalf("got %v, want an InvalidSpec error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
}

func TestNetOutTranslationIsAllOrNothing(t *testing.T) {
	good, bad := rule(t, `{"protocol":1}`), rule(t, `{"protocol":4}`)
	if got, err := translate("h1", []NetOutRule{good, bad}); err == nil || got != nil {
		t.Fatalf("a bulk with one bad rule gave %v, %v", got, err)
	}
}

func TestNetOutLogPrefixKeepsTheHandlesStart(t *testing.T) {
	h := strings.Repeat("a", 20) + strings.Repeat("b", 20)
	got, err := translate(h, []NetOutRule{rule(t, `{"log":true}`)})
	if err != nil || got[0].LogPrefix != h[:logPrefixLen]+" " {
		t.Fatalf("log prefix %q, %v", got[0].LogPrefix, err)
	}
}

func TestBadIPInARuleIsADecodeError(t *testing.T) {
	var r NetOutRule
	if err := json.Unmarshal([]byte(`{"networks":[{"start":"10.0.0.300","end":"10.0.0.1"}]}`), &r); err == nil {
		t.Fatal("an invalid address decoded")
	}
}
