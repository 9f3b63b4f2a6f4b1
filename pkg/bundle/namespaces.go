package bundle

import "github.com/opencontainers/runtime-spec/specs-go"

// Namespaces gives every container its own mount, UTS, IPC, pid and network
// namespaces, and an unprivileged one also its own user namespace, which is
// what makes its root unprivileged on the host. The network namespace
// starts empty: gdn-net adds the container's interface later.
type Namespaces struct{}

// Apply implements Rule. It replaces any namespaces already in spec.
func (Namespaces) Apply(spec *specs.Spec, d Desired) error {
	ns := []specs.LinuxNamespace{
		{Type: specs.MountNamespace},
		{Type: specs.UTSNamespace},
		{Type: specs.IPCNamespace},
		{Type: specs.PIDNamespace},
		{Type: specs.NetworkNamespace},
	}
	if !d.Privileged {
		ns = append(ns, specs.LinuxNamespace{Type: specs.UserNamespace})
	}
	linuxOf(spec).Namespaces = ns
	return nil
}
