package fetch

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/gdn-dev/gdn/pkg/rootfs"
	"github.com/gdn-dev/gdn/pkg/testutil"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// ociLayout writes an OCI image layout with one zstd-compressed layer
// holding the given files, tagged "latest", and returns its path.
func ociLayout(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	put := func(data []byte) (string, int) {
		sum := sha256.Sum256(data)
		hexsum := hex.EncodeToString(sum[:])
		if err := os.WriteFile(filepath.Join(blobs, hexsum), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return "sha256:" + hexsum, len(data)
	}
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
		tw.Write([]byte(body))
	}
	tw.Close()
	diffSum := sha256.Sum256(plain.Bytes())
	var packed bytes.Buffer
	zw, _ := zstd.NewWriter(&packed)
	zw.Write(plain.Bytes())
	zw.Close()
	layer, layerSize := put(packed.Bytes())
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Env": []string{"FROM=zstd"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(diffSum[:])}},
	})
	cfg, cfgSize := put(config)
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": cfgSize},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": layer, "size": layerSize}},
	})
	man, manSize := put(manifest)
	index, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"manifests": []any{map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man, "size": manSize,
			"annotations": map[string]string{"org.opencontainers.image.ref.name": "latest"}}},
	})
	os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644)
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	return dir
}

// testStore makes a small loop-backed store that fetches in this
// process, its volumes deleted at the end.
func testStore(t *testing.T, maps []idmap.Mapping) *rootfs.Store {
	t.Helper()
	s, err := rootfs.Init(rootfs.InitConfig{Dir: testutil.StoreDir(t), UIDMappings: maps, GIDMappings: maps, SizeBytes: 300 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s.SetFetcher(Fetcher(s))
	t.Cleanup(func() {
		if hs, err := s.List(); err == nil {
			for _, h := range hs {
				s.Delete(h)
			}
		}
	})
	return s
}

func TestCreateFromZstdOCILayout(t *testing.T) {
	s := testStore(t, idmap.Mappings(4294967294))
	layout := ociLayout(t, map[string]string{"etc/hello": "zstd works\n"})
	src, err := rootfs.ParseURI("oci://" + layout + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := s.Create(context.Background(), rootfs.CreateRequest{Handle: "z1", Source: src})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(spec.Root.Path, "etc", "hello"))
	if err != nil || string(got) != "zstd works\n" {
		t.Fatalf("etc/hello = %q, %v", got, err)
	}
	if len(spec.Process.Env) != 1 || spec.Process.Env[0] != "FROM=zstd" {
		t.Errorf("env %v", spec.Process.Env)
	}
	var st unix.Stat_t
	unix.Stat(filepath.Join(spec.Root.Path, "etc", "hello"), &st)
	if st.Uid != 4294967294 {
		t.Errorf("root-owned file is owned by %d on the host, want the mapped root", st.Uid)
	}
	if existed, err := s.Delete("z1"); err != nil || !existed {
		t.Fatalf("delete: %v %v", existed, err)
	}
}

func TestCreateRefusesATamperedLayer(t *testing.T) {
	s := testStore(t, nil)
	layout := ociLayout(t, map[string]string{"f": "original"})
	// Flip a byte of the layer blob: its digest no longer matches.
	blobs, _ := filepath.Glob(filepath.Join(layout, "blobs", "sha256", "*"))
	for _, b := range blobs {
		data, _ := os.ReadFile(b)
		if bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}) { // zstd magic
			data[len(data)-1] ^= 0xff
			os.WriteFile(b, data, 0o644)
		}
	}
	src, _ := rootfs.ParseURI("oci://" + layout + ":latest")
	if _, err := s.Create(context.Background(), rootfs.CreateRequest{Handle: "bad", Source: src}); err == nil {
		t.Fatal("a layer that does not match its digest was used")
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Dir(), "layers")); len(entries) > 1 {
		// only the lock file of the refused layer may remain
		for _, e := range entries {
			if e.IsDir() {
				t.Errorf("layer %s left in the store", e.Name())
			}
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "volumes", "bad")); err == nil {
		t.Error("volume left behind")
	}
}
