// Package stream moves tar archives into and out of a container's file
// system (Garden's StreamIn and StreamOut, reference garden-api §7.8),
// safely and as a given user:
//
//   - paths are resolved inside the container's root with
//     filepath-securejoin (absolute symlinks resolve against the container's
//     root, never the host's), and entries are written beneath the
//     destination through os.Root, which refuses anything that would leave
//     it; the root is /proc/<init>/root, so the container's own mounts are
//     seen, as from inside its mount namespace;
//   - the work runs on a thread of its own whose file-system uid, gid and
//     groups are the user's host ids, so the kernel checks permissions as
//     that user and files are created owned by that user; the thread is
//     discarded afterwards.
//
// Devices and FIFOs in an archive are skipped: an unprivileged container
// cannot create devices, and Garden clients send files, directories and
// links. Ownership recorded in the archive is not applied: files belong to
// the streaming user, as with a non-root tar.
package stream
