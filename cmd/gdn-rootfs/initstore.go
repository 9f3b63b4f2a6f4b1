package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/gdn-dev/gdn/pkg/rootfs"
	"github.com/spf13/cobra"
)

func initStoreCmd() *cobra.Command {
	var uids, gids []string
	var size uint64
	cmd := &cobra.Command{
		Use:   "init-store [--uid-mapping C:H:N]... [--gid-mapping C:H:N]... [--store-size-bytes N]",
		Short: "Prepare a store (idempotent): a btrfs file system with quotas, and its id mappings",
		Example: "  gdn-rootfs --store /var/lib/gdn/store init-store \\\n" +
			"    --uid-mapping 0:4294967294:1 --uid-mapping 1:1:4294967293 \\\n" +
			"    --gid-mapping 0:4294967294:1 --gid-mapping 1:1:4294967293",
		Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := rootfs.InitConfig{SizeBytes: size}
			cfg.Dir, _ = cmd.Flags().GetString("store")
			var err error
			if cfg.UIDMappings, err = parseMappings(uids); err != nil {
				return err
			}
			if cfg.GIDMappings, err = parseMappings(gids); err != nil {
				return err
			}
			s, err := rootfs.Init(cfg)
			if err != nil {
				return err
			}
			out := map[string]any{"store": cfg.Dir, "meta": s.Meta()}
			return cli.Print(cmd, out, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "store %s ready\n", cfg.Dir)
				return err
			})
		},
	}
	cmd.Flags().StringArrayVar(&uids, "uid-mapping", nil, "uid mapping CONTAINER:HOST:SIZE (repeatable)")
	cmd.Flags().StringArrayVar(&gids, "gid-mapping", nil, "gid mapping CONTAINER:HOST:SIZE (repeatable)")
	cmd.Flags().Uint64Var(&size, "store-size-bytes", 0, "size of a loop-backed store (sparse; default 20 GiB)")
	return cmd
}

func parseMappings(specs []string) ([]idmap.Mapping, error) {
	var out []idmap.Mapping
	for _, s := range specs {
		parts := strings.Split(s, ":")
		var n [3]uint64
		ok := len(parts) == 3
		for i := 0; ok && i < 3; i++ {
			v, err := strconv.ParseUint(parts[i], 10, 32)
			n[i], ok = v, err == nil
		}
		if !ok || n[2] == 0 {
			return nil, fmt.Errorf("mapping %q is not CONTAINER:HOST:SIZE: %w", s, errkind.Usage)
		}
		out = append(out, idmap.Mapping{ContainerID: uint32(n[0]), HostID: uint32(n[1]), Size: uint32(n[2])})
	}
	return out, nil
}
