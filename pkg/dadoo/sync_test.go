package dadoo

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

func TestSyncRoundTrip(t *testing.T) {
	cases := []struct {
		name     string
		pid      int
		err      error
		wantPid  int
		wantKind errkind.Kind
		wantMsg  string // "" means no error
	}{
		{name: "pid", pid: 4242, wantPid: 4242},
		{
			name:     "error with a kind",
			err:      fmt.Errorf("exec %q: not found: %w", "nope", errkind.ExecutableNotFound),
			wantKind: errkind.ExecutableNotFound,
			wantMsg:  `exec "nope": not found: ExecutableNotFound`,
		},
		{
			name:     "kind wrapped twice deep",
			err:      fmt.Errorf("start: %w", fmt.Errorf("user %q: %w", "bob", errkind.InvalidSpec)),
			wantKind: errkind.InvalidSpec,
			wantMsg:  `start: user "bob": InvalidSpec`,
		},
		{
			name:    "error without a kind",
			err:     errors.New("libcontainer said no"),
			wantMsg: "libcontainer said no",
		},
		{
			name:    "error wins over a pid",
			pid:     7,
			err:     errors.New("boom"),
			wantMsg: "boom",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteSync(&buf, tc.pid, tc.err); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(buf.String(), "\n"); n != 1 {
				t.Errorf("sync message %q is %d lines, want 1", buf.String(), n)
			}
			pid, err := ReadSync(&buf)
			if tc.wantMsg == "" {
				if err != nil || pid != tc.wantPid {
					t.Fatalf("ReadSync = %d, %v; want %d", pid, err, tc.wantPid)
				}
				return
			}
			if err == nil {
				t.Fatalf("ReadSync = %d, nil; want error %q", pid, tc.wantMsg)
			}
			if pid != 0 {
				t.Errorf("pid = %d with an error, want 0", pid)
			}
			if got := errkind.Of(err); got != tc.wantKind {
				t.Errorf("kind = %q, want %q", got, tc.wantKind)
			}
			if err.Error() != tc.wantMsg {
				t.Errorf("message = %q, want %q", err, tc.wantMsg)
			}
		})
	}
}

func TestReadSyncWithoutAMessage(t *testing.T) {
	cases := []struct {
		name, input, want string
	}{
		{name: "dadoo died", input: "", want: "dadoo exited before the process started"},
		{name: "garbage", input: "not json\n", want: "dadoo exited before the process started"},
		{name: "no pid and no error", input: "{}\n", want: "no pid"},
		{name: "negative pid", input: `{"pid":-1}` + "\n", want: "no pid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pid, err := ReadSync(strings.NewReader(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadSync(%q) = %d, %v; want an error containing %q", tc.input, pid, err, tc.want)
			}
		})
	}
}
