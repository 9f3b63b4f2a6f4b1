package gardener

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Recover runs at server start. Containers whose create never finished
// (the server died half way) are true orphans and are destroyed; so is
// every container when destroyAll is set. Healthy containers are left
// alone: their state is on disk, their processes under their dadoos. It
// returns the handles it destroyed; a destroy that fails is reported and
// the container stays for the next try.
func (g *Gardener) Recover(ctx context.Context, destroyAll bool) ([]string, error) {
	all, err := g.allProperties(ctx)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, h := range slices.Sorted(maps.Keys(all)) {
		healthy := all[h][PropState] == StateCreated
		if healthy && !destroyAll {
			continue
		}
		reason := "its create never finished"
		if healthy {
			reason = "--destroy-containers-on-startup"
		}
		g.log.Info("destroying at startup", "handle", h, "reason", reason)
		if err := g.Destroy(ctx, h); err != nil {
			errs = append(errs, fmt.Errorf("destroy %s: %w", h, err))
			continue
		}
		removed = append(removed, h)
	}
	if err := g.sweepTools(ctx, removed); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("startup recovery: %v", errs)
	}
	return removed, nil
}

// sweepTools removes what a server killed before gdn-depot create left
// in gdn's own tools: rootfs volumes with no bundle, and networks whose
// container is gone (gdn-net cleanup). Plugins of other makers have no
// listing in their contracts, so they are left to their operators.
func (g *Gardener) sweepTools(ctx context.Context, destroyed []string) error {
	if g.cfg.OwnImagePlugin {
		var vols struct {
			Volumes []string `json:"volumes"`
		}
		if err := g.toolJSON(ctx, g.cfg.Image, "", &vols, "list"); err != nil {
			return err
		}
		for _, h := range vols.Volumes {
			if g.Lookup(h) == nil {
				continue
			}
			g.log.Info("removing orphan rootfs volume at startup", "handle", h)
			if err := g.deleteRootfs(ctx, h, false); err != nil {
				return err
			}
		}
	}
	if g.cfg.OwnNetworkPlugin {
		out, err := g.cfg.Net.run(ctx, g.log, call{args: []string{"cleanup"}})
		if err != nil {
			return err
		}
		g.log.Info("gdn-net cleanup at startup", "removed", strings.TrimSpace(string(out)))
	}
	return nil
}

// InitStore prepares gdn-rootfs's store (idempotent) with the id mappings
// of gdn-depot's unprivileged containers: container root is the host's
// largest uid and gid, the rest map to themselves. Only for gdn-rootfs:
// another image plugin is set up by its operator, as with Guardian.
func (g *Gardener) InitStore(ctx context.Context) error {
	args := []string{"init-store"}
	for _, kind := range []string{"--uid-mapping", "--gid-mapping"} {
		args = append(args, kind, "0:4294967294:1", kind, "1:1:4294967293")
	}
	_, err := g.cfg.Image.run(ctx, g.log, call{args: args})
	return err
}
