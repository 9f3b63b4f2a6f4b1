package dadoo

import "github.com/gdn-dev/gdn/pkg/procdir"

// Args is dadoo's command line for one process: it runs "STARTER
// --runtime-root ROOT start-process HANDLE" to start it.
func Args(starter, runtimeRoot, handle string, dir procdir.Dir) []string {
	return []string{"-starter", starter, "-runtime-root", runtimeRoot, "exec", handle, string(dir)}
}

// StarterArgv is the starter's command line that dadoo runs.
func StarterArgv(starter, runtimeRoot, handle string) []string {
	return []string{starter, "--runtime-root", runtimeRoot, "start-process", handle}
}
