// Package statefile changes a JSON state file that several processes
// share: under an exclusive lock on path+".lock", read, change, and
// replace atomically (a killed writer leaves the old file).
package statefile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/flock"
)

// Update locks path, gives its content to load (nil when the file does
// not exist; load decides what a missing, corrupt or stale file means),
// runs change on the result and, if change succeeds, writes it back as
// JSON.
func Update[T any](path string, load func(data []byte) (*T, error), change func(*T) error) error {
	lock, err := flock.Acquire(path + ".lock")
	if err != nil {
		return err
	}
	defer lock.Release()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state file %q: %w", path, err)
	}
	v, err := load(data)
	if err != nil {
		return fmt.Errorf("state file %q: %w", path, err)
	}
	if err := change(v); err != nil {
		return err
	}
	out, err := marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, out, 0o600)
}

// marshal is json.Marshal, except that a type with its own MarshalJSON
// is trusted to write valid JSON: json.Marshal checks it byte by byte
// again, a cost in proportion to the file that every Update paid.
func marshal(v any) ([]byte, error) {
	if m, ok := v.(json.Marshaler); ok {
		return m.MarshalJSON()
	}
	return json.Marshal(v)
}
