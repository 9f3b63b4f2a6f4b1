package cli

import (
	"fmt"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/spf13/cobra"
)

// annotationAnyUser marks a command that anyone may run (see AnyUser).
const annotationAnyUser = "gdn.any-user"

// AnyUser marks cmd as one that runs as any user, so that Execute does not
// require root for it: a helper that has already become a container's
// user (stream-in's entered half). It returns cmd.
func AnyUser(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[annotationAnyUser] = "true"
	return cmd
}

// requireRoot makes every runnable command under root, but those marked
// AnyUser, fail with errkind.Usage when euid() is not 0, before its RunE
// does any work: gdn's tools make namespaces, mounts, cgroups and links,
// and as another user they would fail halfway with a bare "permission
// denied" on whatever file they touched first. Flag and argument errors,
// --help and --version still work for anyone.
func requireRoot(root *cobra.Command, euid func() int) {
	cmds := []*cobra.Command{root}
	for len(cmds) > 0 {
		c := cmds[0]
		cmds = append(cmds[1:], c.Commands()...)
		if c.RunE == nil || c.Annotations[annotationAnyUser] != "" {
			continue
		}
		run := c.RunE
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if uid := euid(); uid != 0 {
				return fmt.Errorf("%s needs root: run it as root (uid 0), e.g. with sudo; this is uid %d: %w", cmd.CommandPath(), uid, errkind.Usage)
			}
			return run(cmd, args)
		}
	}
}
