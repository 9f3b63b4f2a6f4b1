package rootfs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/gdn-dev/gdn/pkg/cli"
)

// FetchProgram is the program ExecFetcher runs: package fetch's command.
const FetchProgram = "gdn-rootfs-fetch"

// FetchProgramPath is FetchProgram beside the running executable, else
// on PATH.
func FetchProgramPath() string {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), FetchProgram)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(FetchProgram); err == nil {
		return p
	}
	return FetchProgram
}

// ExecFetcher is the Fetcher that runs program (gdn-rootfs-fetch) on the
// store: the program prints the image's record as JSON, or fails with
// the one-line error every gdn tool prints, whose kind it keeps.
func (s *Store) ExecFetcher(program string) Fetcher {
	return func(ctx context.Context, src Source, opts PullOptions) (*ImageRecord, error) {
		args := []string{"--store", s.dir}
		if opts.Username != "" || opts.Password != "" {
			args = append(args, "--username", opts.Username, "--password", opts.Password)
		}
		for _, h := range opts.Insecure {
			args = append(args, "--insecure-registry", h)
		}
		cmd := exec.CommandContext(ctx, program, append(args, src.URI())...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if f, ok := opts.Progress.(*os.File); ok {
			cmd.ExtraFiles = []*os.File{f}
			cmd.Args = append(cmd.Args[:1], append([]string{"--progress-fd", "3"}, cmd.Args[1:]...)...)
		}
		if err := cmd.Run(); err != nil {
			if _, exited := err.(*exec.ExitError); exited {
				return nil, cli.ParseToolError(FetchProgram, errb.Bytes(), err.Error())
			}
			return nil, fmt.Errorf("%s: %w", FetchProgram, err)
		}
		var rec ImageRecord
		if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("%s printed %q: %w", FetchProgram, out.String(), err)
		}
		return &rec, nil
	}
}
