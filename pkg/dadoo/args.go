package dadoo

import "github.com/gdn-dev/gdn/pkg/procdir"

// Args is dadoo's command line for one process of container handle; pea is
// the pea's id for a pea, else empty.
func Args(starter, runtimeRoot, handle string, dir procdir.Dir, pea string) []string {
	args := []string{"-starter", starter, "-runtime-root", runtimeRoot}
	if pea != "" {
		args = append(args, "-pea", pea)
	}
	return append(args, "exec", handle, string(dir))
}

// StarterArgv is the command dadoo runs to start the process: gdn-run
// start-process HANDLE, or for a pea gdn-run start-pea PEA DIR.
func StarterArgv(starter, runtimeRoot, handle string, dir procdir.Dir, pea string) []string {
	if pea != "" {
		return []string{starter, "--runtime-root", runtimeRoot, "start-pea", pea, string(dir)}
	}
	return []string{starter, "--runtime-root", runtimeRoot, "start-process", handle}
}

// CleanupArgv is the command dadoo runs once a pea has exited, to remove
// its runtime container (state and cgroup); nil for other processes.
func CleanupArgv(starter, runtimeRoot, pea string) []string {
	if pea == "" {
		return nil
	}
	return []string{starter, "--runtime-root", runtimeRoot, "delete", pea}
}
