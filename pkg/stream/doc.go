// Package stream moves tar archives into and out of a container's file
// system (Garden's StreamIn and StreamOut, reference garden-api §7.8),
// safely and as a given user:
//
//   - paths are resolved inside the container's root with
//     filepath-securejoin (absolute symlinks resolve against the container's
//     root, never the host's), and entries are written beneath the
//     destination through os.Root, which refuses anything that would leave
//     it;
//   - gdn-run does the work in a process that has entered the container
//     (package enter: its user, mount and pid namespaces, as the user, with
//     the capabilities that user has there), so the root is its own "/" and
//     the kernel checks every step exactly as for a process of that user in
//     the container: container root's CAP_DAC_OVERRIDE applies inside the
//     container, a user has only its own rights (Target.Entered);
//   - without Entered, the work runs on a thread of its own whose
//     file-system uid, gid and groups are the user's host ids (a root
//     handle opened on the host); the thread is discarded afterwards.
//
// A relative destination or source is relative to the user's home
// (Resolve), as for Guardian. Errors name the failed action as tar does
// ("Cannot open: Permission denied").
//
// Devices and FIFOs in an archive are skipped: an unprivileged container
// cannot create devices, and Garden clients send files, directories and
// links. Ownership recorded in the archive is not applied: files belong to
// the streaming user, as with a non-root tar.
package stream
