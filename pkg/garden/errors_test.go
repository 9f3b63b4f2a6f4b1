package garden

import (
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func TestErrorBody(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		wantStatus int
		want       Error
	}{
		{
			name: "container not found", err: ContainerNotFoundError{Handle: "missing"}, wantStatus: http.StatusNotFound,
			want: Error{Type: TypeContainerNotFound, Message: "unknown handle: missing", Handle: "missing"},
		},
		{
			name: "wrapped pointer", err: fmt.Errorf("info: %w", &ContainerNotFoundError{Handle: "h"}), wantStatus: http.StatusNotFound,
			want: Error{Type: TypeContainerNotFound, Message: "unknown handle: h", Handle: "h"},
		},
		{
			name: "joined", err: errors.Join(errors.New("x"), ProcessNotFoundError{ProcessID: "p"}), wantStatus: http.StatusNotFound,
			want: Error{Type: TypeProcessNotFound, Message: "unknown process: p", ProcessID: "p"},
		},
		{
			name: "process not found", err: ProcessNotFoundError{ProcessID: "p404"}, wantStatus: http.StatusNotFound,
			want: Error{Type: TypeProcessNotFound, Message: "unknown process: p404", ProcessID: "p404"},
		},
		{
			name: "executable not found", err: ExecutableNotFoundError{Message: "exec: missing: executable file not found in $PATH"},
			wantStatus: http.StatusInternalServerError,
			want:       Error{Type: TypeExecutableNotFound, Message: "exec: missing: executable file not found in $PATH"},
		},
		{
			name: "service unavailable", err: ServiceUnavailableError{Cause: errors.New("busy")}, wantStatus: http.StatusInternalServerError,
			want: Error{Type: TypeServiceUnavailable, Message: "busy"},
		},
		{
			name: "unrecoverable", err: UnrecoverableError{Symptom: "disk gone"}, wantStatus: http.StatusInternalServerError,
			want: Error{Type: TypeUnrecoverable, Message: "disk gone"},
		},
		{
			name: "plain", err: errors.New("property does not exist: nope"), wantStatus: http.StatusInternalServerError,
			want: Error{Message: "property does not exist: nope"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := ErrorBody(tc.err)
			if status != tc.wantStatus || body != tc.want {
				t.Errorf("got %d %+v\nwant %d %+v", status, body, tc.wantStatus, tc.want)
			}
		})
	}
}

func TestFromBody(t *testing.T) {
	cases := []struct {
		body Error
		want error
	}{
		{Error{Type: TypeContainerNotFound, Message: "ignored", Handle: "h"}, ContainerNotFoundError{Handle: "h"}},
		{Error{Type: TypeProcessNotFound, ProcessID: "p"}, ProcessNotFoundError{ProcessID: "p"}},
		{Error{Type: TypeExecutableNotFound, Message: "m"}, ExecutableNotFoundError{Message: "m"}},
		{Error{Type: TypeUnrecoverable, Message: "s"}, UnrecoverableError{Symptom: "s"}},
	}
	for _, tc := range cases {
		if got := FromBody(tc.body); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("FromBody(%+v) = %#v, want %#v", tc.body, got, tc.want)
		}
	}
	var su ServiceUnavailableError
	if err := FromBody(Error{Type: TypeServiceUnavailable, Message: "busy"}); !errors.As(err, &su) || err.Error() != "busy" {
		t.Errorf("service unavailable = %#v", err)
	}
	plain := FromBody(Error{Message: "unknown handle: h2"})
	var cnf ContainerNotFoundError
	if plain.Error() != "unknown handle: h2" || errors.As(plain, &cnf) {
		t.Errorf("plain = %#v", plain)
	}
}

func TestErrorRoundTrip(t *testing.T) {
	for _, err := range []error{
		ContainerNotFoundError{Handle: "h"}, ProcessNotFoundError{ProcessID: "p"},
		ExecutableNotFoundError{Message: "m"}, UnrecoverableError{Symptom: "s"}, errors.New("plain"),
	} {
		_, body := ErrorBody(err)
		if back := FromBody(body); back.Error() != err.Error() || reflect.TypeOf(back) != reflect.TypeOf(err) {
			t.Errorf("%#v came back as %#v", err, back)
		}
	}
}

// TestNoNetHTTP: the package stays free of net/http (see statusNotFound),
// which gdn-run and gdn-net would otherwise link and initialise at every
// start.
func TestNoNetHTTP(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "net/http" {
			t.Fatal("pkg/garden depends on net/http")
		}
	}
}
