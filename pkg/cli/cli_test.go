package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/spf13/cobra"
)

func TestEveryKindHasAnExitCode(t *testing.T) {
	for _, k := range errkind.All {
		code, ok := exitCodes[k]
		if !ok {
			t.Errorf("kind %s has no exit code", k)
		}
		if got := ExitCode(fmt.Errorf("wrapped: %w", k)); got != code {
			t.Errorf("ExitCode(wrapped %s) = %d, want %d", k, got, code)
		}
	}
	if ExitCode(nil) != 0 || ExitCode(errors.New("x")) != ExitInternal {
		t.Error("nil must be 0 and an unknown error internal")
	}
	if ExitCode(&ExitStatusError{Status: 42}) != 42 {
		t.Error("ExitStatusError must pass its status through")
	}
}

func TestWriteErrorJSON(t *testing.T) {
	var buf bytes.Buffer
	WriteError(&buf, "gdn-x", fmt.Errorf("handle %q: %w", "c1", errkind.ContainerNotFound))
	var body errorBody
	if err := json.Unmarshal(buf.Bytes(), &body); err != nil {
		t.Fatalf("not JSON: %q", buf.String())
	}
	if body.Error.Type != "ContainerNotFound" || !strings.Contains(body.Error.Message, `"c1"`) {
		t.Errorf("got %+v", body)
	}
	buf.Reset()
	WriteError(&buf, "gdn-x", errors.New("boom"))
	if !strings.Contains(buf.String(), `"type":"Internal"`) {
		t.Errorf("an error without a kind must be Internal: %s", buf.String())
	}
}

func newCmd(stdin string) *cobra.Command {
	c := &cobra.Command{Use: "t", RunE: func(*cobra.Command, []string) error { return nil }}
	addGlobalFlags(c)
	c.SetIn(strings.NewReader(stdin))
	return c
}

func TestDecodeStdin(t *testing.T) {
	var v struct{ Handle string }
	ok, err := DecodeStdin(newCmd(`{"handle":"c1"}`), &v)
	if !ok || err != nil || v.Handle != "c1" {
		t.Fatalf("got %v %v %+v", ok, err, v)
	}
	ok, err = DecodeStdin(newCmd(""), &v)
	if ok || err != nil {
		t.Fatalf("empty stdin: got %v %v", ok, err)
	}
	_, err = DecodeStdin(newCmd("{not json"), &v)
	if errkind.Of(err) != errkind.InvalidSpec {
		t.Fatalf("malformed JSON: got %v, want InvalidSpec", err)
	}
}

func TestPrintJSONWhenNotATerminal(t *testing.T) {
	c := newCmd("")
	var out bytes.Buffer
	c.SetOut(&out)
	if err := Print(c, map[string]int{"pid": 7}, nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != "{\"pid\":7}\n" {
		t.Errorf("got %q", out.String())
	}
}

func TestHandleArgs(t *testing.T) {
	c := newCmd("")
	if err := HandleArgs(1, 1)(c, []string{"../x"}); errkind.Of(err) != errkind.InvalidHandle {
		t.Errorf("got %v, want InvalidHandle", err)
	}
	if err := HandleArgs(1, 1)(c, nil); errkind.Of(err) != errkind.Usage {
		t.Errorf("got %v, want Usage", err)
	}
	if err := HandleArgs(1, 1)(c, []string{"ok"}); err != nil {
		t.Errorf("got %v", err)
	}
}

func TestParseToolError(t *testing.T) {
	var buf bytes.Buffer
	WriteError(&buf, "gdn-x", fmt.Errorf("container %q not found: %w", "c1", errkind.ContainerNotFound))
	err := ParseToolError("gdn-x", append([]byte("some log line\n"), buf.Bytes()...), "exit status 3")
	if !errors.Is(err, errkind.ContainerNotFound) || err.Error() != `container "c1" not found` {
		t.Fatalf("got %v (%q)", err, err.Kind)
	}
	err = ParseToolError("plugin", []byte("boom\n"), "exit status 1")
	if err.Kind != errkind.Internal || err.Error() != "plugin: boom" {
		t.Fatalf("got %#v", err)
	}
	if err = ParseToolError("plugin", nil, "exit status 1"); err.Error() != "plugin: exit status 1" {
		t.Fatalf("got %#v", err)
	}
}

func TestArgErrorsShowTheUsageLine(t *testing.T) {
	root := &cobra.Command{Use: "gdn-x"}
	kill := &cobra.Command{Use: "kill HANDLE [SIGNAL]", Args: HandleArgs(1, 2), RunE: func(*cobra.Command, []string) error { return nil }}
	exec := &cobra.Command{Use: "exec HANDLE [-- PATH ARGS...]", Args: HandleArgs(1, ManyArgs), RunE: func(*cobra.Command, []string) error { return nil }}
	root.AddCommand(kill, exec)
	for _, tc := range []struct {
		cmd  *cobra.Command
		args []string
		want string
	}{
		{kill, nil, "gdn-x kill takes 1 to 2 arguments, got 0 (usage: gdn-x kill HANDLE [SIGNAL]): Usage"},
		{exec, nil, "gdn-x exec takes at least 1 argument, got 0 (usage: gdn-x exec HANDLE [-- PATH ARGS...]): Usage"},
	} {
		err := tc.cmd.Args(tc.cmd, tc.args)
		if errkind.Of(err) != errkind.Usage || err.Error() != tc.want {
			t.Errorf("got %q, want %q", err, tc.want)
		}
	}
	if err := ExactArgs(1)(kill, nil); !strings.Contains(fmt.Sprint(err), "takes 1 argument, got 0 (usage: gdn-x kill") {
		t.Errorf("ExactArgs: got %v", err)
	}
}

func TestRequireRoot(t *testing.T) {
	var ran []string
	run := func(name string) func(*cobra.Command, []string) error {
		return func(*cobra.Command, []string) error { ran = append(ran, name); return nil }
	}
	root := &cobra.Command{Use: "gdn-x"}
	list := &cobra.Command{Use: "list", RunE: run("list")}
	entered := AnyUser(&cobra.Command{Use: "entered", RunE: run("entered")})
	root.AddCommand(list, entered)
	requireRoot(root, func() int { return 65534 })

	root.SetArgs([]string{"list"})
	err := root.Execute()
	if errkind.Of(err) != errkind.Usage || !strings.Contains(err.Error(), "gdn-x list needs root") || !strings.Contains(err.Error(), "uid 65534") {
		t.Errorf("list as uid 65534: got %v", err)
	}
	root.SetArgs([]string{"entered"})
	if err := root.Execute(); err != nil {
		t.Errorf("an AnyUser command: %v", err)
	}
	if !slices.Equal(ran, []string{"entered"}) {
		t.Errorf("ran %v, want only the AnyUser command", ran)
	}
}

// A pipeline stage after one that failed gets an empty pipe (or, with
// stderr piped too, the error JSON): one line that says so.
func TestDecodeStdinAfterAFailedStage(t *testing.T) {
	decode := func(input string) (bool, error) {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		_, _ = w.WriteString(input)
		w.Close()
		c := newCmd("")
		c.SetIn(r)
		var v map[string]any
		return DecodeStdin(c, &v)
	}
	ok, err := decode("")
	if ok || !errors.Is(err, ErrNoInput) || errkind.Of(err) != errkind.InvalidSpec {
		t.Errorf("empty pipe: got %v %v", ok, err)
	}
	var prev bytes.Buffer
	WriteError(&prev, "gdn-rootfs", fmt.Errorf("image %q: %w", "docker:///nope", errkind.ImageNotFound))
	ok, err = decode(prev.String())
	if ok || !errors.Is(err, ErrNoInput) || !strings.Contains(err.Error(), `(ImageNotFound: image "docker:///nope")`) {
		t.Errorf("an error JSON: got %v %v", ok, err)
	}
	if ok, err = decode(`{"handle":"c1","bundle":"/b"}`); !ok || err != nil {
		t.Errorf("a stage's output: got %v %v", ok, err)
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	c := newCmd("")
	c.SetIn(devnull)
	var v any
	if ok, err := DecodeStdin(c, &v); ok || err != nil {
		t.Errorf("/dev/null (no pipeline): got %v %v, want a fall back to flags", ok, err)
	}
}

func TestWriteText(t *testing.T) {
	type mem struct {
		Usage uint64 `json:"usage_bytes"`
		Limit uint64 `json:"limit_bytes"`
	}
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{"nested object, sizes and durations", struct {
			Handle string `json:"handle"`
			Age    int64  `json:"age_ns"`
			Memory mem    `json:"memory"`
			Pids   []int  `json:"pids"`
		}{"c1", 1500000000, mem{64 << 20, 1536}, []int{7, 9}},
			"handle              c1\nage_ns              1.5s\nmemory.usage_bytes  64 MiB\nmemory.limit_bytes  1.5 KiB\npids                7, 9\n"},
		{"a list of scalars", map[string]any{"handles": []string{"a", "b"}}, "a\nb\n"},
		{"an empty list", map[string]any{"handles": []string{}}, ""},
		{"a list of objects", map[string]any{"leaks": []map[string]any{{"kind": "cgroup", "what": "/x"}, {"kind": "mount", "what": nil}}},
			"KIND    WHAT\ncgroup  /x\nmount   -\n"},
		{"capacity", map[string]uint64{"capacity": 20 << 30}, "capacity  20 GiB\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, tc.in); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestWriteTextLine(t *testing.T) {
	var b bytes.Buffer
	ev := map[string]any{"type": "stats", "data": map[string]uint64{"usage_bytes": 2048}}
	if err := WriteTextLine(&b, ev); err != nil {
		t.Fatal(err)
	}
	if want := "data=usage_bytes=2 KiB type=stats\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestComplete(t *testing.T) {
	handles := func(*cobra.Command, []string) ([]string, error) { return []string{"web", "worker", "db"}, nil }
	ids := func(_ *cobra.Command, args []string) ([]string, error) {
		if args[0] != "web" {
			return nil, errors.New("no such container")
		}
		return []string{"p1", "p2"}, nil
	}
	f := Complete(handles, ids)
	c := &cobra.Command{Use: "t"}
	for _, tc := range []struct {
		name    string
		args    []string
		prefix  string
		want    []string
		wantDir cobra.ShellCompDirective
	}{
		{"first argument, filtered", nil, "w", []string{"web", "worker"}, cobra.ShellCompDirectiveNoFileComp},
		{"second argument from the first", []string{"web"}, "", []string{"p1", "p2"}, cobra.ShellCompDirectiveNoFileComp},
		{"a lister that fails", []string{"db"}, "", nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError},
		{"past the listers", []string{"web", "p1"}, "", nil, cobra.ShellCompDirectiveNoFileComp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, dir := f(c, tc.args, tc.prefix)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || dir != tc.wantDir {
				t.Errorf("got %v %v, want %v %v", got, dir, tc.want, tc.wantDir)
			}
		})
	}
}
