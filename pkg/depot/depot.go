package depot

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/flock"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// File names inside a handle's directory.
const (
	ConfigFile     = "config.json"
	PropertiesFile = "properties.json"
	lockFile       = "properties.lock"
	trashDir       = ".trash"
	// trashSep separates the handle from the random suffix in .trash. It
	// is not a handle character, so one handle's prefix never matches
	// another handle's entries.
	trashSep = "~"
)

// DefaultDir is the depot directory when none is configured (for the
// default instance; an instance tagged t uses tag.Scoped of it).
const DefaultDir = "/var/run/gdn/depot"

// CrashPoints are gdn-depot's crash.Point steps, in order, for crash
// tests to iterate.
var CrashPoints = []string{
	"gdn-depot.create.dir", "gdn-depot.create.props", "gdn-depot.create.netfiles", "gdn-depot.create.config",
	"gdn-depot.destroy.trashed",
}

// Config configures a Depot.
type Config struct {
	// Dir is the depot directory; it is created if missing. A relative
	// path is made absolute, since bundle paths are handed to other tools.
	Dir string
}

// Depot is a bundle store in one directory. It keeps no state in memory:
// any number of Depots, in any number of processes, may share a directory.
type Depot struct {
	dir string
}

// New returns the Depot in cfg.Dir, creating the directory (0755) if
// needed. An empty Dir is an error.
func New(cfg Config) (*Depot, error) {
	if cfg.Dir == "" {
		return nil, errors.New("depot: no directory configured")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("depot: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, trashDir), 0o755); err != nil {
		return nil, fmt.Errorf("depot: %w", err)
	}
	return &Depot{dir: dir}, nil
}

// Dir returns the depot's absolute directory.
func (d *Depot) Dir() string { return d.dir }

// path returns the bundle directory of a handle (not validated).
func (d *Depot) path(h string) string { return filepath.Join(d.dir, h) }

// Create stores a new bundle for handle h and returns its directory. An
// invalid handle is errkind.InvalidHandle and touches nothing; an existing
// handle is errkind.HandleInUse and leaves that container untouched. On any
// other failure the directory Create made is removed again. A nil spec, a
// property SetProperties would refuse, or a spec whose container root
// could not start the container (bundle.CheckReach: a rootfs it cannot
// reach, an init it cannot run, mount points it cannot make) is
// errkind.InvalidSpec and touches nothing.
func (d *Depot) Create(ctx context.Context, h string, spec *specs.Spec, props map[string]string) (_ string, err error) {
	if err := handle.Validate(h); err != nil {
		return "", err
	}
	if spec == nil {
		return "", fmt.Errorf("depot: create %q: no spec: %w", h, errkind.InvalidSpec)
	}
	if err := validateProps(props); err != nil {
		return "", fmt.Errorf("depot: create %q: %w", h, err)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dir := d.path(h)
	spec.Mounts = append(spec.Mounts, networkFileMounts(dir)...)
	// Before anything is written: a container its root could not start.
	if err := bundle.CheckReach(spec); err != nil {
		return "", fmt.Errorf("depot: create %q: %w", h, err)
	}
	config, err := json.Marshal(spec)
	if err != nil {
		return "", fmt.Errorf("depot: encode spec of %q: %w", h, err)
	}
	propsJSON, err := encodeProps(props)
	if err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("depot: handle %q already in use: %w", h, errkind.HandleInUse)
		}
		return "", fmt.Errorf("depot: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	// Held until the bundle is whole: Cleanup takes an unlocked directory
	// without a config.json for what a killed create left, never for a
	// create still running.
	lock, err := flock.Acquire(filepath.Join(dir, lockFile))
	if err != nil {
		return "", fmt.Errorf("depot: %w", err)
	}
	defer lock.Release()
	crash.Point("gdn-depot.create.dir")
	// mkdir's mode is cut by the umask; the layout promises 0755.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", fmt.Errorf("depot: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, PropertiesFile), propsJSON, 0o600); err != nil {
		return "", fmt.Errorf("depot: %w", err)
	}
	crash.Point("gdn-depot.create.props")
	if err := writeNetworkFiles(dir, h, spec); err != nil {
		return "", fmt.Errorf("depot: %w", err)
	}
	crash.Point("gdn-depot.create.netfiles")
	if err := atomicfile.WriteFile(filepath.Join(dir, ConfigFile), config, 0o600); err != nil {
		return "", fmt.Errorf("depot: %w", err)
	}
	crash.Point("gdn-depot.create.config")
	if err := atomicfile.SyncDir(d.dir); err != nil {
		return "", fmt.Errorf("depot: %w", err)
	}
	return dir, nil
}

// Destroy removes handle h's directory and everything in it, and reports
// whether it existed. It is idempotent: destroying an absent handle is not
// an error. It does not check that the container has stopped; callers
// delete it from the runtime first.
func (d *Depot) Destroy(h string) (existed bool, err error) {
	if err := handle.Validate(h); err != nil {
		return false, err
	}
	trash := filepath.Join(d.dir, trashDir)
	existed, err = d.moveToTrash(h, trash)
	if err != nil {
		return false, err
	}
	crash.Point("gdn-depot.destroy.trashed")
	// Remove this tomb and any a killed Destroy (of any handle) left.
	if _, err := d.emptyTrash(); err != nil {
		return existed, fmt.Errorf("depot: destroy %q: %w", h, err)
	}
	return existed, nil
}

// Cleanup removes what killed tools left: bundle directories of creates
// that died before their config.json, and every entry of the trash
// (destroys killed after moving a directory there). It returns how many
// directories it removed. A server runs it at start; any Destroy does the same work.
func (d *Depot) Cleanup() (int, error) {
	if err := d.trashUnfinished(); err != nil {
		return 0, fmt.Errorf("depot: cleanup: %w", err)
	}
	n, err := d.emptyTrash()
	if err != nil {
		return n, fmt.Errorf("depot: cleanup: %w", err)
	}
	return n, nil
}

// trashUnfinished moves into the trash every bundle directory that has
// no config.json and whose create no longer runs (its lock is free): what
// a create killed half way left. A running create holds the lock.
func (d *Depot) trashUnfinished() error {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		h := e.Name()
		if !e.IsDir() || handle.Validate(h) != nil || d.exists(h) {
			continue
		}
		lock, ok, err := flock.TryAcquire(filepath.Join(d.path(h), lockFile))
		if errors.Is(err, fs.ErrNotExist) || (err == nil && !ok) {
			continue // gone meanwhile, or a create is running
		}
		if err != nil {
			return err
		}
		if !d.exists(h) {
			err = os.Rename(d.path(h), filepath.Join(d.dir, trashDir, h+trashSep+rand.Text()))
		}
		lock.Release()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// emptyTrash removes every trash entry. Everything in the trash is
// garbage, whoever put it there, and any number of processes may empty it
// at once: each removal tolerates entries another removes first (an entry
// or file already gone is no error), so concurrent destroys and cleanups
// race harmlessly over the same tomb.
func (d *Depot) emptyTrash() (int, error) {
	trash := filepath.Join(d.dir, trashDir)
	entries, err := os.ReadDir(trash)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		path := filepath.Join(trash, e.Name())
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			continue // another destroy's or cleanup's
		}
		if err := removeTomb(path); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// moveToTrash renames h's directory into trash under a random name (so
// that concurrent destroys never collide), holding the properties lock:
// a property update in flight finishes first, and every later one finds
// no container, so nothing is written into the directory once it is in
// the trash and removing it cannot race with a writer.
func (d *Depot) moveToTrash(h, trash string) (bool, error) {
	dir := d.path(h)
	lock, err := flock.Acquire(filepath.Join(dir, lockFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("depot: destroy %q: %w", h, err)
	}
	defer lock.Release()
	switch err := os.Rename(dir, filepath.Join(trash, h+trashSep+rand.Text())); {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("depot: destroy %q: %w", h, err)
	}
}

// tombRetries bounds how often removeTomb retries; see there.
const tombRetries = 5

// removeTomb removes a directory moved into the trash. A path lookup that
// began before the move may still create an entry in it afterwards (a
// property setter opening the lock file), so that RemoveAll meets a new
// entry and fails with ENOTEMPTY. Lookups started after the move fail, so
// such entries are few, and retrying removes them.
func removeTomb(path string) error {
	var err error
	for range tombRetries {
		if err = os.RemoveAll(path); !errors.Is(err, syscall.ENOTEMPTY) {
			return err
		}
	}
	return err
}

// List returns, sorted, the handles of the containers whose properties
// include every pair in filter (all containers for an empty filter).
// Directories without a config.json (a create in progress or killed) are
// not containers and are left out.
func (d *Depot) List(filter map[string]string) ([]string, error) {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("depot: list: %w", err)
	}
	handles := []string{}
	for _, e := range entries {
		h := e.Name()
		if !e.IsDir() || handle.Validate(h) != nil || !d.exists(h) {
			continue
		}
		if len(filter) > 0 {
			props, err := readProps(d.path(h))
			if err != nil || !matches(props, filter) {
				continue // destroyed meanwhile, or not a match
			}
		}
		handles = append(handles, h)
	}
	return handles, nil
}

// AllProperties returns the properties of every container List(filter)
// names, in one read each: for a caller that needs them all (a server's
// start, a filtered list), not one call per container. A container
// destroyed meanwhile is left out.
func (d *Depot) AllProperties(filter map[string]string) (map[string]map[string]string, error) {
	handles, err := d.List(filter)
	if err != nil {
		return nil, err
	}
	all := map[string]map[string]string{}
	for _, h := range handles {
		if p, err := d.Properties(h); err == nil {
			all[h] = p
		}
	}
	return all, nil
}

func matches(props, filter map[string]string) bool {
	for k, v := range filter {
		if got, ok := props[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// exists reports whether h has a complete bundle.
func (d *Depot) exists(h string) bool {
	_, err := os.Stat(filepath.Join(d.path(h), ConfigFile))
	return err == nil
}

// check returns errkind.InvalidHandle or errkind.ContainerNotFound unless
// h names a complete bundle.
func (d *Depot) check(h string) error {
	if err := handle.Validate(h); err != nil {
		return err
	}
	if !d.exists(h) {
		return notFound(h)
	}
	return nil
}

func notFound(h string) error {
	return fmt.Errorf("depot: container %q does not exist: %w", h, errkind.ContainerNotFound)
}
