package idmap

import (
	"reflect"
	"testing"
)

func TestParseAndMaximus(t *testing.T) {
	cases := []struct {
		name    string
		text    string
		want    uint32
		wantErr bool
	}{
		{name: "initial user namespace", text: "         0          0 4294967295\n", want: 4294967294},
		{name: "rootless single id", text: "0 1000 1\n", want: 0},
		{name: "several lines take the highest", text: "0 1000 1\n1 100000 65536\n\n", want: 65536},
		{name: "unsorted lines", text: "100 200 10\n0 0 5\n", want: 109},
		{name: "empty", text: "", wantErr: true},
		{name: "two fields", text: "0 0\n", wantErr: true},
		{name: "not a number", text: "0 x 1\n", wantErr: true},
		{name: "zero size", text: "0 0 0\n", wantErr: true},
		{name: "overflow", text: "4294967295 0 2\n", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := Parse(tc.text)
			var got uint32
			if err == nil {
				got, err = Maximus(ms)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("maximus = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestMappings(t *testing.T) {
	cases := []struct {
		maximus uint32
		want    []Mapping
	}{
		{4294967294, []Mapping{{0, 4294967294, 1}, {1, 1, 4294967293}}},
		{65536, []Mapping{{0, 65536, 1}, {1, 1, 65535}}},
		{1, []Mapping{{0, 1, 1}}},
		{0, []Mapping{{0, 0, 1}}},
	}
	for _, tc := range cases {
		if got := Mappings(tc.maximus); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Mappings(%d) = %v, want %v", tc.maximus, got, tc.want)
		}
	}
}

func TestReadMaximusOfThisProcess(t *testing.T) {
	if _, err := ReadMaximus(UIDMapPath); err != nil {
		t.Fatal(err)
	}
}

func TestToContainer(t *testing.T) {
	ms := Mappings(4294967294)
	for host, want := range map[uint32]uint32{4294967294: 0, 1: 1, 1000: 1000} {
		if got, ok := ToContainer(ms, host); !ok || got != want {
			t.Errorf("ToContainer(%d) = %d, %v; want %d", host, got, ok, want)
		}
	}
	if _, ok := ToContainer(ms, 0); ok {
		t.Error("host root must be unmapped in an unprivileged container")
	}
	if got, ok := ToContainer(nil, 0); !ok || got != 0 {
		t.Error("without mappings ids are the same")
	}
}

func TestRangeMappings(t *testing.T) {
	got, err := RangeMappings(4294967294, 100000, 65536)
	want := []Mapping{{ContainerID: 0, HostID: 4294967294, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range [][2]uint32{{0, 10}, {1, 0}, {4294967290, 10}} {
		if _, err := RangeMappings(4294967294, bad[0], bad[1]); err == nil {
			t.Errorf("range %v accepted", bad)
		}
	}
}
