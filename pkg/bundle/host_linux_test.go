package bundle

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"testing"
)

// TestX32SyscallsAgreesWithTheKernelConfig: the probe's answer matches
// CONFIG_X86_X32_ABI where the kernel publishes its config.
func TestX32SyscallsAgreesWithTheKernelConfig(t *testing.T) {
	f, err := os.Open("/proc/config.gz")
	if err != nil {
		t.Skipf("no /proc/config.gz to compare with: %v", err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Contains(cfg, []byte("\nCONFIG_X86_X32_ABI=y"))
	if got := X32Syscalls(); got != want {
		t.Errorf("X32Syscalls() = %v, kernel config says %v", got, want)
	}
}
