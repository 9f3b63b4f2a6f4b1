package bytesize

import (
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{in: "0", want: 0},
		{in: "4096", want: 4096},
		{in: "64M", want: 64 << 20},
		{in: "64m", want: 64 << 20},
		{in: "2k", want: 2048},
		{in: "1G", want: 1 << 30},
		{in: "3T", want: 3 << 40},
		{in: "", wantErr: true},
		{in: "M", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "1.5G", wantErr: true},
		{in: "64MB", wantErr: true},
		{in: "16777216T", wantErr: true},
	}
	for _, tc := range cases {
		got, err := Parse(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err != nil && errkind.Of(err) != errkind.InvalidSpec {
			t.Errorf("Parse(%q): error %v is not InvalidSpec", tc.in, err)
		}
	}
}
