package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/testutil"
)

// Every 5xx is logged at error level with its error, handle and stage; a
// 4xx is not.
func TestServerErrorsAreLoggedWithStage(t *testing.T) {
	f := newFake()
	f.infoErr["h1"] = &cli.ToolError{Tool: "gdn-depot", Command: "show", Kind: errkind.Internal, Message: "read config.json: disk on fire"}
	f.infoErr["h2"] = fmt.Errorf("join results: %w", errors.New("plain failure"))
	var logs testutil.SyncBuffer
	_, dial := serveWith(t, f, Config{Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	for _, h := range []string{"h1", "h2", "missing"} {
		resp := exchange(t, dial, "GET /containers/"+h+"/info HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n")
		if h != "missing" && !strings.HasPrefix(resp, "HTTP/1.1 500") {
			t.Fatalf("%s: %q", h, resp)
		}
	}
	type entry struct {
		Level, Msg, Handle, Stage, Error, Route string
		Status                                  int
	}
	var failed []entry
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var e entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if e.Msg == "request failed" {
			failed = append(failed, e)
		}
	}
	want := []entry{
		{Level: "ERROR", Msg: "request failed", Handle: "h1", Stage: "gdn-depot show", Error: "read config.json: disk on fire", Route: "Info", Status: 500},
		{Level: "ERROR", Msg: "request failed", Handle: "h2", Stage: "server", Error: "join results: plain failure", Route: "Info", Status: 500},
	}
	if fmt.Sprint(failed) != fmt.Sprint(want) {
		t.Errorf("logged failures:\n%+v\nwant\n%+v", failed, want)
	}
}
