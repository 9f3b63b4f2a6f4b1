// Package process runs a process in a container under its own dadoo: it
// prepares the process with pkg/runtime, creates its process directory
// (pkg/procdir), and starts a detached dadoo (pkg/dadoo) with the
// prepared process, returning once the process runs or could not start.
package process
