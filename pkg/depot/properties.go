package depot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
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

// SetProperties sets every pair of kv in one durable update. A pair that
// ValidateProperty refuses is errkind.InvalidSpec; an unknown handle
// errkind.ContainerNotFound. Updates from any number of processes are
// serialised, so none is lost.
func (d *Depot) SetProperties(h string, kv map[string]string) error {
	if err := validateProps(kv); err != nil {
		return fmt.Errorf("depot: %w", err)
	}
	return d.updateProps(h, func(props map[string]string) { maps.Copy(props, kv) })
}

// Limits of one property. A value is often a whole document (Garden
// clients store JSON in properties), so the bound is generous; it keeps
// one container's properties.json, which every change rewrites, sane.
const (
	MaxKeyBytes   = 4 << 10 // 4 KiB
	MaxValueBytes = 1 << 20 // 1 MiB
)

// ValidateProperty returns an error wrapping errkind.InvalidSpec unless
// key is 1 to MaxKeyBytes and value at most MaxValueBytes of valid UTF-8
// without NUL. (JSON would store a NUL, but no command line or C string
// can carry it back; invalid UTF-8 would come back changed.)
func ValidateProperty(key, value string) error {
	if err := ValidatePropertyKey(key); err != nil {
		return err
	}
	switch {
	case len(value) > MaxValueBytes:
		return fmt.Errorf("property %q: value is %d bytes, more than the limit of %d (1 MiB): %w", short(key), len(value), MaxValueBytes, errkind.InvalidSpec)
	case strings.IndexByte(value, 0) >= 0:
		return fmt.Errorf("property %q: value contains a NUL byte: %w", short(key), errkind.InvalidSpec)
	case !utf8.ValidString(value):
		return fmt.Errorf("property %q: value is not valid UTF-8: %w", short(key), errkind.InvalidSpec)
	}
	return nil
}

// ValidatePropertyKey is ValidateProperty's check of a key.
func ValidatePropertyKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("property key is empty: %w", errkind.InvalidSpec)
	case len(key) > MaxKeyBytes:
		return fmt.Errorf("property key %q is %d bytes, more than the limit of %d: %w", short(key), len(key), MaxKeyBytes, errkind.InvalidSpec)
	case strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("property key %q contains a NUL byte: %w", short(key), errkind.InvalidSpec)
	case !utf8.ValidString(key):
		return fmt.Errorf("property key %q is not valid UTF-8: %w", short(key), errkind.InvalidSpec)
	}
	return nil
}

// short keeps an error message one readable line.
func short(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func validateProps(kv map[string]string) error {
	for k, v := range kv {
		if err := ValidateProperty(k, v); err != nil {
			return err
		}
	}
	return nil
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
