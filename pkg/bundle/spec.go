package bundle

import "github.com/opencontainers/runtime-spec/specs-go"

// The helpers below return a section of the spec, creating it when absent,
// so that every rule can run on its own (each rule's test starts from an
// empty spec) without caring which rule ran first.

func processOf(s *specs.Spec) *specs.Process {
	if s.Process == nil {
		s.Process = &specs.Process{}
	}
	return s.Process
}

func linuxOf(s *specs.Spec) *specs.Linux {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	return s.Linux
}

func resourcesOf(s *specs.Spec) *specs.LinuxResources {
	l := linuxOf(s)
	if l.Resources == nil {
		l.Resources = &specs.LinuxResources{}
	}
	return l.Resources
}
