package garden

import (
	"bytes"
	"encoding/json"
	"net"
	"reflect"
	"testing"
	"time"
)

// marshalLikeServer encodes v the way the reference server does: compact
// JSON plus a newline.
func marshalLikeServer(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// zeroMetrics is the zero Metrics as the reference emits it (captures,
// bulk_metrics).
const zeroMetrics = `{"MemoryStat":{"active_anon":0,"active_file":0,"cache":0,"hierarchical_memory_limit":0,"inactive_anon":0,"inactive_file":0,"mapped_file":0,"pgfault":0,"pgmajfault":0,"pgpgin":0,"pgpgout":0,"rss":0,"total_active_anon":0,"total_active_file":0,"total_cache":0,"total_inactive_anon":0,"total_inactive_file":0,"total_mapped_file":0,"total_pgfault":0,"total_pgmajfault":0,"total_pgpgin":0,"total_pgpgout":0,"total_rss":0,"total_unevictable":0,"unevictable":0,"swap":0,"hierarchical_memsw_limit":0,"total_swap":0,"TotalUsageTowardLimit":0,"anon":0,"file":0,"swapcached":0},"CPUStat":{"Usage":0,"User":0,"System":0},"DiskStat":{"TotalBytesUsed":0,"TotalInodesUsed":0,"ExclusiveBytesUsed":0,"ExclusiveInodesUsed":0},"NetworkStat":null,"PidStat":{"Current":0,"Max":0},"Age":0,"CPUEntitlement":0}`

func u8(v uint8) *uint8 { return &v }

func TestWireTypesMarshalLikeTheReference(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want string
	}{
		{
			name: "info (§3.6)",
			v: ContainerInfo{
				State: "active", Events: []string{"Out of memory"}, HostIP: "10.254.0.1", ContainerIP: "10.254.0.2",
				ExternalIP: "1.2.3.4", ContainerPath: "/var/run/gdn/depot/h1", Properties: Properties{"a": "b"},
				MappedPorts: []PortMapping{{HostPort: 61001, ContainerPort: 8080}},
			},
			want: `{"State":"active","Events":["Out of memory"],"HostIP":"10.254.0.1","ContainerIP":"10.254.0.2","ContainerIPv6":"","ExternalIP":"1.2.3.4","ContainerPath":"/var/run/gdn/depot/h1","ProcessIDs":null,"Properties":{"a":"b"},"MappedPorts":[{"HostPort":61001,"ContainerPort":8080}]}`,
		},
		{
			name: "bulk info entries",
			v: map[string]ContainerInfoEntry{
				"h1": {Info: ContainerInfo{State: "active"}},
				"h2": {Err: &Error{Message: "unknown handle: h2"}},
			},
			want: `{"h1":{"Info":{"State":"active","Events":null,"HostIP":"","ContainerIP":"","ContainerIPv6":"","ExternalIP":"","ContainerPath":"","ProcessIDs":null,"Properties":null,"MappedPorts":null},"Err":null},"h2":{"Info":{"State":"","Events":null,"HostIP":"","ContainerIP":"","ContainerIPv6":"","ExternalIP":"","ContainerPath":"","ProcessIDs":null,"Properties":null,"MappedPorts":null},"Err":{"Type":"","Message":"unknown handle: h2","Handle":"","ProcessID":"","Binary":""}}}`,
		},
		{name: "zero metrics", v: Metrics{}, want: zeroMetrics},
		{
			name: "bulk metrics entry",
			v:    map[string]ContainerMetricsEntry{"h1": {Metrics: Metrics{Age: 5}}},
			want: `{"h1":{"Metrics":` + zeroMetrics[:len(zeroMetrics)-len(`"Age":0,"CPUEntitlement":0}`)] + `"Age":5,"CPUEntitlement":0},"Err":null}}`,
		},
		{
			name: "metrics with network",
			v:    Metrics{NetworkStat: &ContainerNetworkStat{RxBytes: 1, TxBytes: 2}, Age: time.Second, CPUEntitlement: 5},
			want: zeroMetrics[:bytes.Index([]byte(zeroMetrics), []byte(`"NetworkStat"`))] + `"NetworkStat":{"RxBytes":1,"TxBytes":2},"PidStat":{"Current":0,"Max":0},"Age":1000000000,"CPUEntitlement":5}`,
		},
		{
			name: "capacity",
			v:    Capacity{MemoryInBytes: 1024, DiskInBytes: 2048, SchedulableDiskInBytes: 100, MaxContainers: 3},
			want: `{"memory_in_bytes":1024,"disk_in_bytes":2048,"schedulable_disk_in_bytes":100,"max_containers":3}`,
		},
		{name: "zero capacity", v: Capacity{}, want: `{}`},
		{name: "create", v: CreateResponse{Handle: "h1"}, want: `{"Handle":"h1"}`},
		{name: "list", v: ListResponse{Handles: []string{"h1"}}, want: `{"Handles":["h1"]}`},
		{name: "empty list", v: ListResponse{Handles: []string{}}, want: `{"Handles":[]}`},
		{name: "stop", v: StopRequest{}, want: `{"kill":false}`},
		{name: "property", v: PropertyValue{Value: "v"}, want: `{"value":"v"}`},
		{name: "properties", v: Properties{"k": "v"}, want: `{"k":"v"}`},
		{name: "net in request", v: NetInRequest{Handle: "h1", ContainerPort: 8080}, want: `{"handle":"h1","container_port":8080}`},
		{name: "net in response", v: NetInResponse{HostPort: 61001, ContainerPort: 8080}, want: `{"host_port":61001,"container_port":8080}`},
		{name: "zero net in response", v: NetInResponse{}, want: `{}`},
		{
			name: "net out",
			v: NetOutRule{
				Protocol: ProtocolTCP, Networks: []IPRange{IPRangeFromIP(net.ParseIP("8.8.8.8"))},
				Ports: []PortRange{PortRangeFromPort(53)}, Log: true,
			},
			want: `{"protocol":1,"networks":[{"start":"8.8.8.8","end":"8.8.8.8"}],"ports":[{"start":53,"end":53}],"log":true}`,
		},
		{
			name: "bulk net out",
			v:    []NetOutRule{{Protocol: ProtocolUDP}, {Protocol: ProtocolICMP, ICMPs: &ICMPControl{Type: 8, Code: u8(0)}}},
			want: `[{"protocol":2},{"protocol":3,"icmps":{"type":8,"code":0}}]`,
		},
		{name: "icmp any code", v: ICMPControl{}, want: `{"type":0}`},
		{name: "zero net out", v: NetOutRule{}, want: `{}`},
		{
			name: "error",
			v:    Error{Type: TypeContainerNotFound, Message: "unknown handle: missing", Handle: "missing"},
			want: `{"Type":"ContainerNotFoundError","Message":"unknown handle: missing","Handle":"missing","ProcessID":"","Binary":""}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := marshalLikeServer(t, tc.v); got != tc.want+"\n" {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestProcessPayloadsMarshalLikeTheReference(t *testing.T) {
	zero, one, exit := 0, SignalKill, 42
	term := SignalTerminate
	hello, empty, failed := "hello", "", "boom"
	cases := []struct {
		v    ProcessPayload
		want string
	}{
		{ProcessPayload{ProcessID: "proc-1", StreamID: "1"}, `{"process_id":"proc-1","stream_id":"1"}`},
		{ProcessPayload{ProcessID: "proc-1", Source: &zero, Data: &hello}, `{"process_id":"proc-1","source":0,"data":"hello"}`},
		{ProcessPayload{ProcessID: "proc-1", Source: &zero, Data: &empty}, `{"process_id":"proc-1","source":0,"data":""}`},
		{ProcessPayload{ProcessID: "proc-1", Source: &zero}, `{"process_id":"proc-1","source":0}`},
		{
			ProcessPayload{ProcessID: "proc-1", TTY: &TTYSpec{WindowSize: &WindowSize{Columns: 120, Rows: 40}}},
			`{"process_id":"proc-1","tty":{"window_size":{"columns":120,"rows":40}}}`,
		},
		{ProcessPayload{ProcessID: "proc-1", Signal: &one}, `{"process_id":"proc-1","signal":1}`},
		{ProcessPayload{ProcessID: "proc-1", Signal: &term}, `{"process_id":"proc-1","signal":0}`},
		{ProcessPayload{ProcessID: "proc-1", ExitStatus: &exit}, `{"process_id":"proc-1","exit_status":42}`},
		{ProcessPayload{ProcessID: "proc-1", ExitStatus: &zero}, `{"process_id":"proc-1","exit_status":0}`},
		{ProcessPayload{ProcessID: "proc-1", Error: &failed}, `{"process_id":"proc-1","error":"boom"}`},
	}
	for _, tc := range cases {
		if got := marshalLikeServer(t, tc.v); got != tc.want+"\n" {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
		var back ProcessPayload
		if err := json.Unmarshal([]byte(tc.want), &back); err != nil || !reflect.DeepEqual(back, tc.v) {
			t.Errorf("decode %s = %+v, %v", tc.want, back, err)
		}
	}
}

func TestNetOutRuleDecodesIPs(t *testing.T) {
	var r NetOutRule
	in := `{"protocol":3,"networks":[{"start":"10.0.0.1","end":"10.0.0.9"}],"ports":[{"start":80,"end":81}],"icmps":{"type":8,"code":0},"log":true}`
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if !r.Networks[0].Start.Equal(net.IPv4(10, 0, 0, 1)) || !r.Networks[0].End.Equal(net.IPv4(10, 0, 0, 9)) {
		t.Errorf("networks = %v", r.Networks)
	}
	if r.Protocol != ProtocolICMP || r.Ports[0] != (PortRange{80, 81}) || r.ICMPs.Type != 8 || r.ICMPs.Code == nil || *r.ICMPs.Code != 0 || !r.Log {
		t.Errorf("rule = %+v", r)
	}
	if err := json.Unmarshal([]byte(`{"networks":[{"start":"not-an-ip"}]}`), &r); err == nil {
		t.Error("a bad IP decoded")
	}
	var c ICMPControl
	if err := json.Unmarshal([]byte(`{"type":8,"code":null}`), &c); err != nil || c.Code != nil {
		t.Errorf("null code = %+v, %v", c, err)
	}
}

func TestMetricsDecodeTheCapture(t *testing.T) {
	in := `{"MemoryStat":{"total_rss":7,"TotalUsageTowardLimit":9,"swapcached":3},"NetworkStat":{"RxBytes":1,"TxBytes":2},"Age":1000000000,"CPUEntitlement":5}`
	var m Metrics
	if err := json.Unmarshal([]byte(in), &m); err != nil {
		t.Fatal(err)
	}
	want := Metrics{
		MemoryStat:  ContainerMemoryStat{TotalRss: 7, TotalUsageTowardLimit: 9, SwapCached: 3},
		NetworkStat: &ContainerNetworkStat{RxBytes: 1, TxBytes: 2}, Age: time.Second, CPUEntitlement: 5,
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %+v\nwant %+v", m, want)
	}
}
