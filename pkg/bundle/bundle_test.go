package bundle

import (
	"errors"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runtime-spec/specs-go"
)

type named struct{ RuleFunc }

func (named) Name() string { return "custom" }

type failing struct{ err error }

func (f failing) Apply(*specs.Spec, Desired) error { return f.err }

func TestGenerateAppliesInOrderAndNamesFailures(t *testing.T) {
	var order []string
	step := func(name string) Rule {
		return RuleFunc(func(s *specs.Spec, _ Desired) error {
			order = append(order, name)
			s.Hostname += name
			return nil
		})
	}
	spec, err := Generate(Desired{}, []Rule{step("a"), step("b"), step("c")})
	if err != nil || spec.Hostname != "abc" || strings.Join(order, "") != "abc" {
		t.Fatalf("got %v %q %v", err, spec.Hostname, order)
	}

	boom := errors.New("boom")
	fail := RuleFunc(func(*specs.Spec, Desired) error { return boom })
	cases := []struct {
		rule Rule
		want string
	}{
		{failing{boom}, "bundle rule failing: boom"},
		{&failing{boom}, "bundle rule failing: boom"},
		{named{fail}, "bundle rule custom: boom"},
		{fail, "bundle rule RuleFunc: boom"},
	}
	for _, tc := range cases {
		_, err := Generate(Desired{}, []Rule{Hostname{}, tc.rule, Hostname{}})
		if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("got %v, want prefix %q wrapping boom", err, tc.want)
		}
	}
}

func TestGenerateKeepsTheErrorKind(t *testing.T) {
	_, err := Generate(Desired{Handle: "c1", Rootfs: "relative"}, []Rule{Base{}})
	if errkind.Of(err) != errkind.InvalidSpec || !strings.Contains(err.Error(), "bundle rule Base") {
		t.Fatalf("got %v", err)
	}
}
