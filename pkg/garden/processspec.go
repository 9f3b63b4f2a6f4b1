package garden

// ProcessSpec is the body of POST /containers/:handle/processes: a process
// to run in a container.
type ProcessSpec struct {
	// ID names the process; empty lets the backend choose a UUID.
	ID string `json:"id,omitempty"`
	// Path is the executable, looked up in PATH.
	Path string `json:"path"`
	// Args are the arguments, without argv[0].
	Args []string `json:"args,omitempty"`
	// Env is appended to the container's environment.
	Env []string `json:"env,omitempty"`
	// Dir is the working directory; the user's home when empty.
	Dir string `json:"dir,omitempty"`
	// User is a name or "uid:gid"; empty means root.
	User string `json:"user,omitempty"`
	// Limits are the process's rlimits (soft = hard).
	Limits ResourceLimits `json:"rlimits"`
	// OverrideContainerLimits applies only to peas (Image set).
	OverrideContainerLimits *ProcessLimits `json:"limits,omitempty"`
	// TTY runs the process on a terminal when present.
	TTY *TTYSpec `json:"tty,omitempty"`
	// Image, when its URI is set, runs the process as a pea.
	Image ImageRef `json:"image"`
	// BindMounts are allowed only with Image.
	BindMounts []BindMount `json:"bind_mounts,omitempty"`
}

// ResourceLimits are a process's rlimits; nil means unset.
type ResourceLimits struct {
	As         *uint64 `json:"as,omitempty"`
	Core       *uint64 `json:"core,omitempty"`
	Cpu        *uint64 `json:"cpu,omitempty"`
	Data       *uint64 `json:"data,omitempty"`
	Fsize      *uint64 `json:"fsize,omitempty"`
	Locks      *uint64 `json:"locks,omitempty"`
	Memlock    *uint64 `json:"memlock,omitempty"`
	Msgqueue   *uint64 `json:"msgqueue,omitempty"`
	Nice       *uint64 `json:"nice,omitempty"`
	Nofile     *uint64 `json:"nofile,omitempty"`
	Nproc      *uint64 `json:"nproc,omitempty"`
	Rss        *uint64 `json:"rss,omitempty"`
	Rtprio     *uint64 `json:"rtprio,omitempty"`
	Sigpending *uint64 `json:"sigpending,omitempty"`
	Stack      *uint64 `json:"stack,omitempty"`
}

// ProcessLimits override a pea's cgroup limits.
type ProcessLimits struct {
	CPU    CPULimits    `json:"cpu_limits"`
	Memory MemoryLimits `json:"memory_limits"`
}

// TTYSpec asks for a terminal of the given size.
type TTYSpec struct {
	WindowSize *WindowSize `json:"window_size,omitempty"`
}

// WindowSize is a terminal's size; 0 means the default 80x24.
type WindowSize struct {
	Columns uint16 `json:"columns,omitempty"`
	Rows    uint16 `json:"rows,omitempty"`
}
