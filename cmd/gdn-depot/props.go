package main

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/depot"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/spf13/cobra"
)

// What the props actions print.
type (
	propsList struct {
		Handle     string            `json:"handle"`
		Properties map[string]string `json:"properties"`
	}
	propsValue struct {
		Handle string `json:"handle"`
		Key    string `json:"key"`
		Value  string `json:"value"`
	}
	propsRemoved struct {
		Handle string `json:"handle"`
		Key    string `json:"key"`
	}
)

// propsArgs is how many arguments each action takes after HANDLE ACTION
// (set: KEY VALUE, or KEY with the value on stdin).
var propsArgs = map[string][]int{"list": {0}, "get": {1}, "set": {1, 2}, "rm": {1}, "merge": {0}}

func newPropsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "props HANDLE list|get KEY|set KEY [VALUE]|rm KEY|merge",
		Short: "List, get, set or remove a container's properties",
		Long: "props reads and changes $depot/HANDLE/properties.json. Every change is durable\n" +
			"when the command returns; concurrent changes are serialised. rm of a missing key succeeds.\n" +
			"set KEY without VALUE reads the value, as is, from stdin; merge sets every key of a\n" +
			"JSON object on stdin in one change (both carry any size a command line cannot).\n" +
			"A key is 1 to 4 KiB, a value at most 1 MiB, both UTF-8 without NUL.",
		Example: "  gdn-depot props c1 set app web\n  gdn-depot props c1 set doc <doc.json\n  gdn-depot props c1 get app\n" +
			"  gdn-depot props c1 list\n  gdn-depot props c1 rm app\n" +
			"  echo '{\"app\":\"web\",\"tier\":\"1\"}' | gdn-depot props c1 merge",
		Args: cli.HandleArgs(2, 4),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return slices.Sorted(maps.Keys(propsArgs)), cobra.ShellCompDirectiveNoFileComp
			}
			return completeHandles(cmd, args, s)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			h, action, rest := args[0], args[1], args[2:]
			if n, ok := propsArgs[action]; !ok || !slices.Contains(n, len(rest)) {
				return fmt.Errorf("props: want list, get KEY, set KEY [VALUE], rm KEY or merge, got %q: %w", args[1:], errkind.Usage)
			}
			var merge map[string]string
			switch {
			case action == "merge":
				if ok, err := cli.DecodeStdin(cmd, &merge); err != nil {
					return err
				} else if !ok {
					return fmt.Errorf("props merge: want a JSON object of strings on stdin: %w", errkind.InvalidSpec)
				}
			case action == "set" && len(rest) == 1:
				v, err := readValue(cmd)
				if err != nil {
					return err
				}
				rest = append(rest, v)
			}
			dep, err := openDepot(cmd)
			if err != nil {
				return err
			}
			res, err := runProps(dep, h, action, rest, merge)
			if err != nil {
				return err
			}
			return cli.Print(cmd, res, func(w io.Writer) error { return propsHuman(w, res) })
		},
	}
}

// readValue reads a property value from stdin, refusing more than the
// limit without reading it all.
func readValue(cmd *cobra.Command) (string, error) {
	b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), depot.MaxValueBytes+1))
	if err != nil {
		return "", fmt.Errorf("props set: read value on stdin: %w", err)
	}
	if len(b) > depot.MaxValueBytes {
		return "", fmt.Errorf("props set: value on stdin is more than the limit of %d bytes (1 MiB): %w", depot.MaxValueBytes, errkind.InvalidSpec)
	}
	return string(b), nil
}

func runProps(dep *depot.Depot, h, action string, rest []string, merge map[string]string) (any, error) {
	switch action {
	case "list":
		props, err := dep.Properties(h)
		return propsList{Handle: h, Properties: props}, err
	case "get":
		v, err := dep.GetProperty(h, rest[0])
		return propsValue{Handle: h, Key: rest[0], Value: v}, err
	case "set":
		return propsValue{Handle: h, Key: rest[0], Value: rest[1]}, dep.SetProperty(h, rest[0], rest[1])
	case "merge":
		if err := dep.SetProperties(h, merge); err != nil {
			return nil, err
		}
		props, err := dep.Properties(h)
		return propsList{Handle: h, Properties: props}, err
	default: // "rm"
		return propsRemoved{Handle: h, Key: rest[0]}, dep.RemoveProperty(h, rest[0])
	}
}

func propsHuman(w io.Writer, res any) error {
	var err error
	switch r := res.(type) {
	case propsList:
		for _, k := range slices.Sorted(maps.Keys(r.Properties)) {
			_, err = fmt.Fprintf(w, "%s=%s\n", k, r.Properties[k])
		}
	case propsValue:
		_, err = fmt.Fprintln(w, r.Value)
	case propsRemoved:
		_, err = fmt.Fprintf(w, "%s: removed %s\n", r.Handle, r.Key)
	}
	return err
}
