package gardener

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gdn-dev/gdn/pkg/idmap"
)

// Recover runs at server start. Containers the server was still creating
// or already destroying when it died are finished off (destroyed); so is
// every container when destroyAll is set. The rest — the server's
// finished creates and containers built by hand with the tools — are
// left alone: their state is on disk, their processes under their
// dadoos. It returns the handles it destroyed; a destroy that fails is
// reported and the container stays for the next try.
func (g *Gardener) Recover(ctx context.Context, destroyAll bool) ([]string, error) {
	// First what killed creates and destroys left in the depot itself:
	// bundles whose create died before they were whole, and the trash.
	n, err := g.cfg.Props.Cleanup()
	if err != nil {
		return nil, err
	}
	g.log.Info("depot cleanup at startup", "removed", n)
	all, err := g.allProperties(ctx, nil)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, h := range slices.Sorted(maps.Keys(all)) {
		var reason string
		switch {
		case all[h][PropState] == StateCreating:
			reason = "its create never finished"
		case all[h][PropState] == StateDestroying:
			reason = "its destroy never finished"
		case destroyAll:
			reason = "--destroy-containers-on-startup"
		default:
			continue
		}
		g.log.Info("destroying at startup", "handle", h, "reason", reason)
		if err := g.Destroy(ctx, h); err != nil {
			errs = append(errs, fmt.Errorf("destroy %s: %w", h, err))
			continue
		}
		removed = append(removed, h)
	}
	if err := g.sweepTools(ctx, all); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("startup recovery: %v", errs)
	}
	return removed, nil
}

// sweepTools removes what a server killed before gdn-depot create left
// in gdn's own tools: rootfs volumes that are neither a bundle's nor one
// of its peas' (props holds every bundle's properties), and networks whose
// container is gone (gdn-net cleanup). Plugins of other makers have no
// listing in their contracts, so they are left to their operators.
func (g *Gardener) sweepTools(ctx context.Context, props map[string]map[string]string) error {
	owned := map[string]bool{}
	for h, p := range props {
		owned[h] = true
		for _, vol := range strings.Split(p[PropPeaVolumes], ",") {
			owned[vol] = true
		}
	}
	for _, store := range g.ownStores() {
		var vols struct {
			Volumes []string `json:"volumes"`
		}
		if err := g.toolJSON(ctx, store.tool, "", &vols, "list"); err != nil {
			return err
		}
		for _, vol := range vols.Volumes {
			if owned[vol] || g.Lookup(vol) == nil {
				continue
			}
			g.log.Info("removing orphan rootfs volume at startup", "volume", vol, "store", store.tool.Name)
			if err := g.deleteRootfs(ctx, store.tool, vol, vol); err != nil {
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

// ownStore is one of gdn-rootfs's stores the server runs.
type ownStore struct {
	tool Tool
	// mapped: the store shifts ids as unprivileged containers do.
	mapped bool
}

// ownStores returns the gdn-rootfs stores among the image plugins: the
// unprivileged one and the privileged one, each if it is ours.
func (g *Gardener) ownStores() []ownStore {
	var out []ownStore
	if g.cfg.OwnImagePlugin {
		out = append(out, ownStore{g.cfg.Image, true})
	}
	if g.cfg.OwnPrivilegedImagePlugin && g.cfg.PrivilegedImage.Path != "" {
		out = append(out, ownStore{g.cfg.PrivilegedImage, false})
	}
	return out
}

// InitStores prepares each of gdn-rootfs's stores the server runs
// (idempotent): the unprivileged one with the id mappings of the
// unprivileged containers (Config.Bundle: container root is the host's largest id, the
// rest map as --uid-map-*/--gid-map-* say, identity by default), the
// privileged one with none, so that a privileged container's files
// belong to root. Another image plugin is set up by its operator, as with
// Guardian. A store made with other mappings is refused.
func (g *Gardener) InitStores(ctx context.Context) error {
	for _, s := range g.ownStores() {
		args := append([]string{"init-store"}, s.tool.InitArgs...)
		if s.mapped {
			args = g.storeMappings(args)
		}
		if _, err := s.tool.run(ctx, g.log, call{args: args}); err != nil {
			return err
		}
	}
	return nil
}

// storeMappings appends the unprivileged store's --uid-mapping and
// --gid-mapping flags to args: the unprivileged containers' own.
func (g *Gardener) storeMappings(args []string) []string {
	for _, m := range []struct {
		flag string
		ms   []idmap.Mapping
	}{{"--uid-mapping", g.cfg.Bundle.UIDMappings}, {"--gid-mapping", g.cfg.Bundle.GIDMappings}} {
		for _, l := range m.ms {
			args = append(args, m.flag, fmt.Sprintf("%d:%d:%d", l.ContainerID, l.HostID, l.Size))
		}
	}
	return args
}
