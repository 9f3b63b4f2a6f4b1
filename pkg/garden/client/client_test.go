package client_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/client"
)

// Headers of an ordinary call, as the reference client sends them
// (captures, probe 2).
const (
	plainHeaders = "Accept-Encoding: gzip\nConnection: close\nUser-Agent: Go-http-client/1.1"
	jsonHeaders  = "Accept-Encoding: gzip\nConnection: close\nContent-Length: %d\nContent-Type: application/json\nUser-Agent: Go-http-client/1.1"
)

func jsonHeadersFor(body string) string {
	return strings.Replace(jsonHeaders, "%d", itoa(len(body)), 1)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Request bodies from the captures.
const (
	fullSpecBody = `{"handle":"h1","grace_time":300000000000,"image":{"uri":"docker:///busybox#latest","username":"u","password":"p"},"bind_mounts":[{"src_path":"/src","dst_path":"/dst","mode":1,"origin":1}],"network":"10.254.0.8/30","properties":{"k":"v"},"env":["A=B"],"privileged":true,"limits":{"bandwidth_limits":{"rate":1,"burst":2},"cpu_limits":{"weight":3,"limit_in_shares":4},"disk_limits":{"inode_soft":5,"inode_hard":6,"byte_soft":7,"byte_hard":8,"scope":1},"memory_limits":{"limit_in_bytes":9},"pid_limits":{"max":10}},"netout_rules":[{"protocol":3,"networks":[{"start":"10.0.0.1","end":"10.0.0.9"}],"ports":[{"start":80,"end":81}],"icmps":{"type":8,"code":0},"log":true}],"netin":[{"host_port":0,"container_port":8080}]}` + "\n"
	infoBody     = `{"State":"active","Events":["Out of memory"],"HostIP":"10.254.0.1","ContainerIP":"10.254.0.2","ContainerIPv6":"","ExternalIP":"1.2.3.4","ContainerPath":"/var/run/gdn/depot/h1","ProcessIDs":null,"Properties":{"a":"b"},"MappedPorts":[{"HostPort":61001,"ContainerPort":8080}]}`
	memZero      = `{"active_anon":0,"active_file":0,"cache":0,"hierarchical_memory_limit":0,"inactive_anon":0,"inactive_file":0,"mapped_file":0,"pgfault":0,"pgmajfault":0,"pgpgin":0,"pgpgout":0,"rss":0,"total_active_anon":0,"total_active_file":0,"total_cache":0,"total_inactive_anon":0,"total_inactive_file":0,"total_mapped_file":0,"total_pgfault":0,"total_pgmajfault":0,"total_pgpgin":0,"total_pgpgout":0,"total_rss":0,"total_unevictable":0,"unevictable":0,"swap":0,"hierarchical_memsw_limit":0,"total_swap":0,"TotalUsageTowardLimit":0,"anon":0,"file":0,"swapcached":0}`
	metricsBody  = `{"MemoryStat":` + memZero + `,"CPUStat":{"Usage":0,"User":0,"System":0},"DiskStat":{"TotalBytesUsed":0,"TotalInodesUsed":0,"ExclusiveBytesUsed":0,"ExclusiveInodesUsed":0},"NetworkStat":{"RxBytes":1,"TxBytes":2},"PidStat":{"Current":0,"Max":0},"Age":1000000000,"CPUEntitlement":5}`
)

func u8(v uint8) *uint8 { return &v }

// TestOrdinaryCalls checks, for every non-streaming method, the request
// the client sends and how it decodes the reference server's answer.
func TestOrdinaryCalls(t *testing.T) {
	var fullSpec garden.ContainerSpec
	if err := json.Unmarshal([]byte(fullSpecBody), &fullSpec); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		call     func(c client.Client, ctr client.Container) (any, error)
		method   string
		uri      string
		body     string // "" means no body (and no Content-Type)
		ctype    string // headers when not the JSON default
		respCT   string
		response string
		want     any
	}{
		{
			name:   "ping",
			call:   func(c client.Client, _ client.Container) (any, error) { return nil, c.Ping() },
			method: "GET", uri: "/ping", response: `{}` + "\n",
		},
		{
			name:   "capacity",
			call:   func(c client.Client, _ client.Container) (any, error) { return c.Capacity() },
			method: "GET", uri: "/capacity",
			response: `{"memory_in_bytes":1024,"disk_in_bytes":2048,"schedulable_disk_in_bytes":100,"max_containers":3}` + "\n",
			want:     garden.Capacity{MemoryInBytes: 1024, DiskInBytes: 2048, SchedulableDiskInBytes: 100, MaxContainers: 3},
		},
		{
			name: "create",
			call: func(c client.Client, _ client.Container) (any, error) {
				ctr, err := c.Create(fullSpec)
				if err != nil {
					return nil, err
				}
				return ctr.Handle(), nil
			},
			method: "POST", uri: "/containers", body: fullSpecBody,
			response: `{"Handle":"h1"}` + "\n", want: "h1",
		},
		{
			name: "create takes the server's handle",
			call: func(c client.Client, _ client.Container) (any, error) {
				ctr, err := c.Create(garden.ContainerSpec{})
				if err != nil {
					return nil, err
				}
				return ctr.Handle(), nil
			},
			method: "POST", uri: "/containers",
			body:     `{"image":{},"limits":{"bandwidth_limits":{},"cpu_limits":{},"disk_limits":{},"memory_limits":{},"pid_limits":{}}}` + "\n",
			response: `{"Handle":"2f1c"}` + "\n", want: "2f1c",
		},
		{
			name:   "destroy",
			call:   func(c client.Client, _ client.Container) (any, error) { return nil, c.Destroy("h1") },
			method: "DELETE", uri: "/containers/h1", response: "{}\n",
		},
		{
			name: "containers with a filter",
			call: func(c client.Client, _ client.Container) (any, error) {
				return handles(c.Containers(garden.Properties{"k": "v", "a": "b c"}))
			},
			method: "GET", uri: "/containers?a=b+c&k=v",
			response: `{"Handles":["h1","h2"]}` + "\n", want: []string{"h1", "h2"},
		},
		{
			name: "containers unfiltered, empty",
			call: func(c client.Client, _ client.Container) (any, error) {
				return handles(c.Containers(nil))
			},
			method: "GET", uri: "/containers", response: `{"Handles":[]}` + "\n", want: []string{},
		},
		{
			name: "bulk info",
			call: func(c client.Client, _ client.Container) (any, error) {
				return c.BulkInfo([]string{"h1", "h2"})
			},
			method: "GET", uri: "/containers/bulk_info?handles=h1%2Ch2",
			response: `{"h1":{"Info":{"State":"active","Events":null,"HostIP":"","ContainerIP":"","ContainerIPv6":"","ExternalIP":"","ContainerPath":"","ProcessIDs":null,"Properties":null,"MappedPorts":null},"Err":null},"h2":{"Info":{"State":"","Events":null,"HostIP":"","ContainerIP":"","ContainerIPv6":"","ExternalIP":"","ContainerPath":"","ProcessIDs":null,"Properties":null,"MappedPorts":null},"Err":{"Type":"","Message":"unknown handle: h2","Handle":"","ProcessID":"","Binary":""}}}` + "\n",
			want: map[string]garden.ContainerInfoEntry{
				"h1": {Info: garden.ContainerInfo{State: "active"}},
				"h2": {Err: &garden.Error{Message: "unknown handle: h2"}},
			},
		},
		{
			name: "bulk info without handles still sends the parameter",
			call: func(c client.Client, _ client.Container) (any, error) {
				return c.BulkInfo(nil)
			},
			method: "GET", uri: "/containers/bulk_info?handles=", response: "null\n",
			want: map[string]garden.ContainerInfoEntry(nil),
		},
		{
			name: "bulk metrics",
			call: func(c client.Client, _ client.Container) (any, error) {
				return c.BulkMetrics([]string{"h1"})
			},
			method: "GET", uri: "/containers/bulk_metrics?handles=h1",
			response: `{"h1":{"Metrics":` + metricsBody + `,"Err":null},"h2":{"Metrics":{"MemoryStat":` + memZero + `},"Err":{"Type":"ContainerNotFoundError","Message":"unknown handle: h2","Handle":"h2","ProcessID":"","Binary":""}}}` + "\n",
			want: map[string]garden.ContainerMetricsEntry{
				"h1": {Metrics: garden.Metrics{NetworkStat: &garden.ContainerNetworkStat{RxBytes: 1, TxBytes: 2}, Age: time.Second, CPUEntitlement: 5}},
				"h2": {Err: &garden.Error{Type: "ContainerNotFoundError", Message: "unknown handle: h2", Handle: "h2"}},
			},
		},
		{
			name:   "stop",
			call:   func(_ client.Client, ctr client.Container) (any, error) { return nil, ctr.Stop(false) },
			method: "PUT", uri: "/containers/h1/stop", body: `{"kill":false}` + "\n", response: "{}\n",
		},
		{
			name:   "kill",
			call:   func(_ client.Client, ctr client.Container) (any, error) { return nil, ctr.Stop(true) },
			method: "PUT", uri: "/containers/h1/stop", body: `{"kill":true}` + "\n", response: "{}\n",
		},
		{
			name:   "info",
			call:   func(_ client.Client, ctr client.Container) (any, error) { return ctr.Info() },
			method: "GET", uri: "/containers/h1/info", response: infoBody + "\n",
			want: garden.ContainerInfo{
				State: "active", Events: []string{"Out of memory"}, HostIP: "10.254.0.1", ContainerIP: "10.254.0.2",
				ExternalIP: "1.2.3.4", ContainerPath: "/var/run/gdn/depot/h1", Properties: garden.Properties{"a": "b"},
				MappedPorts: []garden.PortMapping{{HostPort: 61001, ContainerPort: 8080}},
			},
		},
		{
			name: "stream in",
			call: func(_ client.Client, ctr client.Container) (any, error) {
				return nil, ctr.StreamIn(client.StreamInSpec{Path: "/tmp/dst", User: "vcap", TarStream: strings.NewReader("TARBYTES")})
			},
			method: "PUT", uri: "/containers/h1/files?destination=%2Ftmp%2Fdst&user=vcap", body: "TARBYTES",
			ctype:    "Accept-Encoding: gzip\nConnection: close\nContent-Length: 8\nContent-Type: application/x-tar\nUser-Agent: Go-http-client/1.1",
			response: "{}\n",
		},
		{
			name: "stream out",
			call: func(_ client.Client, ctr client.Container) (any, error) {
				r, err := ctr.StreamOut(client.StreamOutSpec{Path: "/etc/passwd", User: "root"})
				if err != nil {
					return nil, err
				}
				defer r.Close()
				b, err := io.ReadAll(r)
				return string(b), err
			},
			method: "GET", uri: "/containers/h1/files?source=%2Fetc%2Fpasswd&user=root",
			respCT: "text/plain; charset=utf-8", response: "TAR", want: "TAR",
		},
		{
			name:   "bandwidth limits",
			call:   func(_ client.Client, ctr client.Container) (any, error) { return ctr.CurrentBandwidthLimits() },
			method: "GET", uri: "/containers/h1/limits/bandwidth", response: `{"rate":1,"burst":2}` + "\n",
			want: garden.BandwidthLimits{RateInBytesPerSecond: 1, BurstRateInBytesPerSecond: 2},
		},
		{
			name:   "cpu limits",
			call:   func(_ client.Client, ctr client.Container) (any, error) { return ctr.CurrentCPULimits() },
			method: "GET", uri: "/containers/h1/limits/cpu", response: `{"limit_in_shares":10}` + "\n",
			want: garden.CPULimits{LimitInShares: 10},
		},
		{
			name:   "disk limits",
			call:   func(_ client.Client, ctr client.Container) (any, error) { return ctr.CurrentDiskLimits() },
			method: "GET", uri: "/containers/h1/limits/disk", response: "{}\n", want: garden.DiskLimits{},
		},
		{
			name:   "memory limits",
			call:   func(_ client.Client, ctr client.Container) (any, error) { return ctr.CurrentMemoryLimits() },
			method: "GET", uri: "/containers/h1/limits/memory", response: `{"limit_in_bytes":1000}` + "\n",
			want: garden.MemoryLimits{LimitInBytes: 1000},
		},
		{
			name: "net in",
			call: func(_ client.Client, ctr client.Container) (any, error) {
				h, c, err := ctr.NetIn(0, 8080)
				return [2]uint32{h, c}, err
			},
			method: "POST", uri: "/containers/h1/net/in", body: `{"handle":"h1","container_port":8080}` + "\n",
			response: `{"host_port":61001,"container_port":8080}` + "\n", want: [2]uint32{61001, 8080},
		},
		{
			name: "net out",
			call: func(_ client.Client, ctr client.Container) (any, error) {
				return nil, ctr.NetOut(garden.NetOutRule{
					Protocol: garden.ProtocolTCP, Networks: []garden.IPRange{garden.IPRangeFromIP(net.ParseIP("8.8.8.8"))},
					Ports: []garden.PortRange{garden.PortRangeFromPort(53)}, Log: true,
				})
			},
			method: "POST", uri: "/containers/h1/net/out",
			body:     `{"protocol":1,"networks":[{"start":"8.8.8.8","end":"8.8.8.8"}],"ports":[{"start":53,"end":53}],"log":true}` + "\n",
			response: "{}\n",
		},
		{
			name: "bulk net out",
			call: func(_ client.Client, ctr client.Container) (any, error) {
				return nil, ctr.BulkNetOut([]garden.NetOutRule{
					{Protocol: garden.ProtocolUDP}, {Protocol: garden.ProtocolICMP, ICMPs: &garden.ICMPControl{Type: 8, Code: u8(0)}},
				})
			},
			method: "POST", uri: "/containers/h1/net/out/bulk",
			body: `[{"protocol":2},{"protocol":3,"icmps":{"type":8,"code":0}}]` + "\n", response: "{}\n",
		},
		{
			name:   "metrics",
			call:   func(_ client.Client, ctr client.Container) (any, error) { return ctr.Metrics() },
			method: "GET", uri: "/containers/h1/metrics", response: metricsBody + "\n",
			want: garden.Metrics{NetworkStat: &garden.ContainerNetworkStat{RxBytes: 1, TxBytes: 2}, Age: time.Second, CPUEntitlement: 5},
		},
		{
			name: "grace time",
			call: func(_ client.Client, ctr client.Container) (any, error) {
				return nil, ctr.SetGraceTime(10 * time.Second)
			},
			method: "PUT", uri: "/containers/h1/grace_time", body: "10000000000\n", response: "{}\n",
		},
		{
			name:   "properties",
			call:   func(_ client.Client, ctr client.Container) (any, error) { return ctr.Properties() },
			method: "GET", uri: "/containers/h1/properties", response: `{"k":"v"}` + "\n", want: garden.Properties{"k": "v"},
		},
		{
			name:   "property",
			call:   func(_ client.Client, ctr client.Container) (any, error) { return ctr.Property("x") },
			method: "GET", uri: "/containers/h1/properties/x", response: `{"value":"v"}` + "\n", want: "v",
		},
		{
			name:   "set property",
			call:   func(_ client.Client, ctr client.Container) (any, error) { return nil, ctr.SetProperty("x", "y") },
			method: "PUT", uri: "/containers/h1/properties/x", body: `{"value":"y"}` + "\n", response: "{}\n",
		},
		{
			name:   "remove property",
			call:   func(_ client.Client, ctr client.Container) (any, error) { return nil, ctr.RemoveProperty("x") },
			method: "DELETE", uri: "/containers/h1/properties/x", response: "{}\n",
		},
		{
			name: "path segments are escaped, + included",
			call: func(c client.Client, _ client.Container) (any, error) {
				return nil, c.Destroy("a+b c/d")
			},
			method: "DELETE", uri: "/containers/a%2Bb%20c%2Fd", response: "{}\n",
		},
		{
			name: "property keys are escaped",
			call: func(_ client.Client, ctr client.Container) (any, error) {
				return nil, ctr.RemoveProperty("garden.x+y")
			},
			method: "DELETE", uri: "/containers/h1/properties/garden.x%2By", response: "{}\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			respCT := tc.respCT
			if respCT == "" {
				respCT = "application/json"
			}
			f, c := newFake(t, func(_ request, nc net.Conn, _ *bufio.Reader) {
				reply(nc, 200, respCT, tc.response)
			})
			got, err := tc.call(c, client.ContainerForHandle(c, "h1"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			req := reqs[0]
			if req.Method != tc.method || req.URI != tc.uri || req.Body != tc.body {
				t.Errorf("request %s %s %q\nwant    %s %s %q", req.Method, req.URI, req.Body, tc.method, tc.uri, tc.body)
			}
			wantHeaders := plainHeaders
			switch {
			case tc.ctype != "":
				wantHeaders = tc.ctype
			case tc.body != "":
				wantHeaders = jsonHeadersFor(tc.body)
			}
			if got := req.headers(); got != wantHeaders {
				t.Errorf("headers:\n%s\nwant:\n%s", got, wantHeaders)
			}
		})
	}
}

func handles(ctrs []client.Container, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	hs := []string{}
	for _, c := range ctrs {
		hs = append(hs, c.Handle())
	}
	return hs, nil
}

func TestLookupListsEverythingAndFailsLocally(t *testing.T) {
	f, c := newFake(t, replyJSON(200, `{"Handles":["h1"]}`))
	ctr, err := c.Lookup("h1")
	if err != nil || ctr.Handle() != "h1" {
		t.Fatalf("Lookup(h1) = %v, %v", ctr, err)
	}
	_, err = c.Lookup("h2")
	var nf garden.ContainerNotFoundError
	if !errors.As(err, &nf) || nf.Handle != "h2" || err.Error() != "unknown handle: h2" {
		t.Errorf("Lookup(h2) = %#v", err)
	}
	for _, r := range f.requests() {
		if r.Method != "GET" || r.URI != "/containers" {
			t.Errorf("Lookup sent %s %s, want GET /containers", r.Method, r.URI)
		}
	}
}

func TestErrorsAreDecodedIntoTypedErrors(t *testing.T) {
	cases := []struct {
		name    string
		h       handler
		call    func(c client.Client) error
		check   func(error) bool
		wantMsg string
	}{
		{
			name: "container not found",
			h:    replyJSON(404, `{"Type":"ContainerNotFoundError","Message":"unknown handle: missing","Handle":"missing","ProcessID":"","Binary":""}`),
			call: func(c client.Client) error { return c.Destroy("missing") },
			check: func(err error) bool {
				var e garden.ContainerNotFoundError
				return errors.As(err, &e) && e.Handle == "missing"
			},
			wantMsg: "unknown handle: missing",
		},
		{
			name:    "plain",
			h:       replyJSON(500, `{"Type":"","Message":"property does not exist: nope","Handle":"","ProcessID":"","Binary":""}`),
			call:    func(c client.Client) error { _, err := mustContainer(c).Property("nope"); return err },
			check:   func(err error) bool { return err != nil },
			wantMsg: "property does not exist: nope",
		},
		{
			name: "unrecoverable",
			h:    replyJSON(500, `{"Type":"UnrecoverableError","Message":"disk gone","Handle":"","ProcessID":"","Binary":""}`),
			call: func(c client.Client) error { return c.Ping() },
			check: func(err error) bool {
				var e garden.UnrecoverableError
				return errors.As(err, &e)
			},
			wantMsg: "disk gone",
		},
		{
			name: "service unavailable",
			h:    replyJSON(500, `{"Type":"ServiceUnavailableError","Message":"busy","Handle":"","ProcessID":"","Binary":""}`),
			call: func(c client.Client) error { _, err := c.Capacity(); return err },
			check: func(err error) bool {
				var e garden.ServiceUnavailableError
				return errors.As(err, &e)
			},
			wantMsg: "busy",
		},
		{
			name: "executable not found on run",
			h:    replyJSON(500, `{"Type":"ExecutableNotFoundError","Message":"exec: missing: executable file not found in $PATH","Handle":"","ProcessID":"","Binary":""}`),
			call: func(c client.Client) error {
				_, err := mustContainer(c).Run(garden.ProcessSpec{Path: "missing"}, client.ProcessIO{})
				return err
			},
			check: func(err error) bool {
				var e garden.ExecutableNotFoundError
				return errors.As(err, &e)
			},
			wantMsg: "exec: missing: executable file not found in $PATH",
		},
		{
			name: "process not found on attach",
			h:    replyJSON(404, `{"Type":"ProcessNotFoundError","Message":"unknown process: p404","Handle":"","ProcessID":"p404","Binary":""}`),
			call: func(c client.Client) error {
				_, err := mustContainer(c).Attach("p404", client.ProcessIO{})
				return err
			},
			check: func(err error) bool {
				var e garden.ProcessNotFoundError
				return errors.As(err, &e) && e.ProcessID == "p404"
			},
			wantMsg: "unknown process: p404",
		},
		{
			name: "router 404 is a bad response",
			h: func(_ request, nc net.Conn, _ *bufio.Reader) {
				reply(nc, 404, "text/plain; charset=utf-8", "404 page not found\n")
			},
			call:    func(c client.Client) error { return c.Ping() },
			check:   func(err error) bool { return err != nil },
			wantMsg: `bad response: 404 Not Found: "404 page not found"`,
		},
		{
			name:    "undecodable success",
			h:       replyJSON(200, `{"Handles":`),
			call:    func(c client.Client) error { _, err := c.Containers(nil); return err },
			check:   func(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "bad response: ") },
			wantMsg: "bad response: decoding GET /containers: unexpected EOF",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newFake(t, tc.h)
			err := tc.call(c)
			if !tc.check(err) || err.Error() != tc.wantMsg {
				t.Errorf("got %#v (%v), want %q", err, err, tc.wantMsg)
			}
		})
	}
}

// mustContainer is a container of c without a request (Lookup would send
// one).
func mustContainer(c client.Client) client.Container {
	return client.ContainerForHandle(c, "h1")
}

func TestNoServer(t *testing.T) {
	c := client.New("unix", "/nonexistent/garden.sock")
	if err := c.Ping(); err == nil {
		t.Error("Ping without a server succeeded")
	}
	if _, err := client.ContainerForHandle(c, "h1").Run(garden.ProcessSpec{Path: "ls"}, client.ProcessIO{}); err == nil {
		t.Error("Run without a server succeeded")
	}
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		if _, err := http.ReadRequest(br); err == nil {
			reply(nc, 200, "application/json", "{}\n")
		}
	}()
	if err := client.New("tcp", ln.Addr().String()).Ping(); err != nil {
		t.Fatal(err)
	}
}
