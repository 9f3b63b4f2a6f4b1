package main

import (
	"fmt"
	"io"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/spf13/cobra"
)

// createResult is what create prints, and what gdn-run create reads.
type createResult struct {
	Handle string `json:"handle"`
	Bundle string `json:"bundle"`
}

func newCreateCmd() *cobra.Command {
	var o createOpts
	cmd := &cobra.Command{
		Use:   "create HANDLE",
		Short: "Write a container's OCI bundle and initial properties",
		Long: "create builds the container's config.json from an image plugin's partial spec on\n" +
			"stdin (or --rootfs) and Garden settings (--spec, overridden by flags: lists are\n" +
			"appended, single values replaced), and stores it as $depot/HANDLE.",
		Example: "  gdn-rootfs create docker:///busybox c1 | gdn-depot create c1 --memory-limit 64M --env FOO=bar\n" +
			"  gdn-depot create c2 --rootfs /var/lib/rootfs/c2 --spec spec.json --bind-mount /srv/data:/data:rw\n" +
			"  gdn-depot create c3 --rootfs /tmp/rootfs --privileged --property owner=me",
		Args: cli.HandleArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, props, err := o.desired(cmd, args[0])
			if err != nil {
				return err
			}
			cfg, err := o.bundleConfig()
			if err != nil {
				return err
			}
			spec, err := bundle.Generate(d, bundle.DefaultRules(cfg))
			if err != nil {
				return err
			}
			dep, err := openDepot(cmd)
			if err != nil {
				return err
			}
			path, err := dep.Create(cmd.Context(), args[0], spec, props)
			if err != nil {
				return err
			}
			res := createResult{Handle: args[0], Bundle: path}
			return cli.Print(cmd, res, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "created %s in %s\n", res.Handle, res.Bundle)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.rootfs, "rootfs", "", "rootfs directory (default: root.path of the partial spec on stdin)")
	f.StringVar(&o.specFile, "spec", "", "Garden ContainerSpec JSON file")
	f.StringArrayVar(&o.env, "env", nil, "environment entry NAME=VALUE (repeatable)")
	f.StringArrayVar(&o.bindMounts, "bind-mount", nil, "host bind mount SRC:DST[:ro|rw], default ro (repeatable)")
	f.BoolVar(&o.privileged, "privileged", false, "no user namespace: container root is host root")
	f.StringVar(&o.memory, "memory-limit", "", "memory limit in bytes, or with a K, M, G suffix (e.g. 64M)")
	f.Uint64Var(&o.cpuShares, "cpu-shares", 0, "CPU shares (Garden limit_in_shares)")
	f.Uint64Var(&o.cpuWeight, "cpu-weight", 0, "CPU weight in shares; wins over --cpu-shares (Garden weight)")
	f.Uint64Var(&o.pids, "pids-limit", 0, "maximum number of processes")
	f.StringArrayVar(&o.props, "property", nil, "initial property KEY=VALUE (repeatable)")
	f.StringVar(&o.initBin, "init-bin", defaultInitBin(), "host path of the gdn-init binary")
	f.BoolVar(&o.noNewPrivs, "no-new-privileges", false, "set no_new_privs on unprivileged containers")
	f.Uint32Var(&o.idRange[0], "uid-map-start", 1, "first host uid of container uids 1.. (container root is always the host's largest uid)")
	f.Uint32Var(&o.idRange[1], "uid-map-length", 0, "how many container uids 1.. are mapped (0: all, identity)")
	f.Uint32Var(&o.idRange[2], "gid-map-start", 1, "first host gid of container gids 1..")
	f.Uint32Var(&o.idRange[3], "gid-map-length", 0, "how many container gids 1.. are mapped (0: all, identity)")
	_ = cmd.MarkFlagFilename("rootfs")
	_ = cmd.MarkFlagFilename("spec", "json")
	_ = cmd.MarkFlagFilename("init-bin")
	return cmd
}
