package depot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/flock"
)

// Properties returns all of handle h's properties (an empty map when there
// are none). An unknown handle is errkind.ContainerNotFound.
func (d *Depot) Properties(h string) (map[string]string, error) {
	if err := d.check(h); err != nil {
		return nil, err
	}
	props, err := readProps(d.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound(h)
	}
	return props, err
}

// GetProperty returns the value of key. A key that is not set is
// errkind.PropertyNotFound; an unknown handle errkind.ContainerNotFound.
func (d *Depot) GetProperty(h, key string) (string, error) {
	props, err := d.Properties(h)
	if err != nil {
		return "", err
	}
	v, ok := props[key]
	if !ok {
		return "", fmt.Errorf("depot: container %q has no property %q: %w", h, key, errkind.PropertyNotFound)
	}
	return v, nil
}

// SetProperty sets key to value, replacing any previous value. See
// SetProperties.
func (d *Depot) SetProperty(h, key, value string) error {
	return d.SetProperties(h, map[string]string{key: value})
}

// SetProperties sets every pair of kv in one durable update. An empty key,
// or a key or value that is not UTF-8, is errkind.InvalidSpec; an unknown
// handle errkind.ContainerNotFound. Updates from any number of processes
// are serialised, so none is lost.
func (d *Depot) SetProperties(h string, kv map[string]string) error {
	if err := checkProps(kv); err != nil {
		return fmt.Errorf("depot: %w", err)
	}
	return d.updateProps(h, func(props map[string]string) { maps.Copy(props, kv) })
}

// RemoveProperty deletes key. Removing a key that is not set succeeds, as
// in Garden; an unknown handle is errkind.ContainerNotFound.
func (d *Depot) RemoveProperty(h, key string) error {
	return d.updateProps(h, func(props map[string]string) { delete(props, key) })
}

// updateProps applies change to h's properties and writes them back
// atomically, under the handle's lock.
func (d *Depot) updateProps(h string, change func(map[string]string)) error {
	if err := d.check(h); err != nil {
		return err
	}
	dir := d.path(h)
	lock, err := flock.Acquire(filepath.Join(dir, lockFile))
	if errors.Is(err, fs.ErrNotExist) {
		return notFound(h) // destroyed since the check
	}
	if err != nil {
		return fmt.Errorf("depot: %w", err)
	}
	defer lock.Release()
	// Destroy renames the directory away under this lock; if it won, no
	// config.json is left at this path. (A destroy and re-create of the
	// same handle while we waited gives this update to the new container,
	// as it would in Garden.)
	if !d.exists(h) {
		return notFound(h)
	}
	props, err := readProps(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return notFound(h)
	}
	if err != nil {
		return err
	}
	change(props)
	data, err := encodeProps(props)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, PropertiesFile), data, 0o600); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return notFound(h)
		}
		return fmt.Errorf("depot: %w", err)
	}
	return nil
}

// readProps reads the properties file of the bundle directory dir. A
// missing file (a bundle older than its properties) is an empty map; a
// missing directory is fs.ErrNotExist.
func readProps(dir string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, PropertiesFile))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return nil, serr
		}
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("depot: %w", err)
	}
	props := map[string]string{}
	if err := json.Unmarshal(b, &props); err != nil {
		return nil, fmt.Errorf("depot: decode %q: %w", filepath.Join(dir, PropertiesFile), err)
	}
	return props, nil
}

// checkProps refuses properties the JSON file cannot hold as given: an
// empty key, and keys or values that are not UTF-8, which encoding would
// silently turn into U+FFFD (a key from a URL path can be any bytes).
func checkProps(props map[string]string) error {
	for k, v := range props {
		if k == "" {
			return fmt.Errorf("property key is empty: %w", errkind.InvalidSpec)
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("property %q: key and value must be UTF-8: %w", k, errkind.InvalidSpec)
		}
	}
	return nil
}

func encodeProps(props map[string]string) ([]byte, error) {
	if props == nil {
		props = map[string]string{}
	}
	b, err := json.Marshal(props)
	if err != nil {
		return nil, fmt.Errorf("depot: encode properties: %w", err)
	}
	return b, nil
}
