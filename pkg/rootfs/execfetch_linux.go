package rootfs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// PasswordEnv carries a registry password from gdn-rootfs to
// gdn-rootfs-fetch: a process's environment is its own user's to read,
// its command line everyone's.
const PasswordEnv = "GDN_REGISTRY_PASSWORD"

// ExecFetcher is the Fetcher that runs program (gdn-rootfs-fetch) on the
// store: the program prints the image's record as JSON, or fails with
// the one-line error every gdn tool prints, whose kind it keeps.
func (s *Store) ExecFetcher(program string) Fetcher {
	return func(ctx context.Context, src Source, opts PullOptions) (*ImageRecord, error) {
		args := []string{"--store", s.dir}
		if opts.Username != "" {
			args = append(args, "--username", opts.Username)
		}
		for _, h := range opts.Insecure {
			args = append(args, "--insecure-registry", h)
		}
		var extra []*os.File
		if f, ok := opts.Progress.(*os.File); ok {
			extra = []*os.File{f}
			args = append(args, "--progress-fd", "3")
		}
		cmd := exec.CommandContext(ctx, program, append(args, src.URI())...)
		cmd.ExtraFiles = extra
		if opts.Password != "" {
			cmd.Env = append(os.Environ(), PasswordEnv+"="+opts.Password)
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			var exited *exec.ExitError
			if errors.As(err, &exited) {
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
