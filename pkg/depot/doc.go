// Package depot is gdn's bundle store: one directory per container, named
// by its handle, holding the container's OCI bundle and its properties.
//
// On-disk layout, under Config.Dir (default /var/run/gdn/depot):
//
//	$depot/$handle/                 0755, claimed by mkdir: its existence
//	                                is the handle's reservation
//	$depot/$handle/config.json      0600, the OCI runtime spec (runc's
//	                                bundle); written last, so a handle
//	                                counts as a container once it exists
//	$depot/$handle/properties.json  0600, a JSON object of string to string
//	$depot/$handle/properties.lock  flock(2) target serialising updates of
//	                                properties.json between processes
//	$depot/$handle/hosts            0644, owned by container root's host
//	$depot/$handle/resolv.conf      uid and gid; bind-mounted rw at /etc/hosts
//	                                and /etc/resolv.conf, filled by gdn-net
//	$depot/$handle/processes/...    owned by the runtime, not this package
//	$depot/.trash/                  directories being destroyed
//
// Every file is written atomically (temporary file, fsync, rename), so a
// reader or a process started after kill -9 sees either the old or the new
// content. Property updates are read-modify-write cycles under the lock, so
// concurrent setters in different processes never lose an update.
//
// A create killed half way leaves a directory without config.json: List,
// Show and the property calls treat it as no container, and Destroy of the
// handle removes it. Destroy first renames the directory into .trash under
// the properties lock (so the handle disappears at once and no property
// update can write into it any more) and then removes it; a destroy killed
// half way leaves an entry in .trash that the next Destroy of the same
// handle removes.
//
// The package does not build specs (pkg/bundle does), run containers
// (pkg/runtime), or know about Garden.
package depot
