package worker

import (
	"context"
	"errors"
	"io"
	"time"
)

// Runtime is what the worker needs from a container runtime. The
// containerd adapter (worker/containerd) implements it; unit tests use a
// fake. Every container and sandbox it reports was made by the worker:
// implementations keep the worker's objects apart from anything else the
// runtime holds (containerd's namespace "skiff").
//
// Methods are safe for concurrent use. Errors wrap ErrNotFound where an
// object is missing and ErrUnavailable when the runtime cannot be reached.
type Runtime interface {
	// Version returns the runtime's name and version ("containerd://1.6.20"),
	// for the Node's nodeInfo; it doubles as the health check.
	Version(ctx context.Context) (string, error)
	// RunSandbox creates the pod's network namespace and network (CNI
	// ADD), idempotently: a sandbox that exists is returned as it is.
	RunSandbox(ctx context.Context, cfg SandboxConfig) (Sandbox, error)
	// RemoveSandbox tears the pod's network down (CNI DEL) and removes its
	// namespace and files. Missing pieces are not errors.
	RemoveSandbox(ctx context.Context, podUID string) error
	// ListSandboxes returns every sandbox, for adoption after a restart.
	ListSandboxes(ctx context.Context) ([]Sandbox, error)
	// EnsureImage makes ref present according to policy and returns its
	// digest. Pull errors wrap ErrImagePull.
	EnsureImage(ctx context.Context, ref string, policy PullPolicy, auth []RegistryAuth) (string, error)
	// CreateContainer creates (without starting) a container in a sandbox.
	CreateContainer(ctx context.Context, sb Sandbox, cfg ContainerConfig) (string, error)
	// StartContainer starts a created container.
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends SIGTERM, waits up to grace, then SIGKILL, and
	// returns once the process is gone. A stopped container is no error.
	StopContainer(ctx context.Context, id string, grace time.Duration) error
	// RemoveContainer deletes a stopped container; its log file stays
	// until the sandbox goes.
	RemoveContainer(ctx context.Context, id string) error
	// ListContainers returns the containers the worker made for the pod
	// podUID, or every one when podUID is "".
	ListContainers(ctx context.Context, podUID string) ([]ContainerStatus, error)
	// Exits delivers the pod UID of a container whose process ended, so
	// the pod is synced at once rather than at its next resync. Sends never
	// block: a full channel drops the notice, and resyncs catch up.
	Exits() <-chan string
	// SetPodCIDR configures the pod network's address range; sandboxes
	// cannot be made before it is set.
	SetPodCIDR(cidr string) error
	// Exec runs a command in a running container and returns its exit
	// code once the command has ended and its output has been written.
	// Ending ctx kills the command.
	Exec(ctx context.Context, id string, req ExecRequest) (int, error)
}

// ExecRequest is a command to run in a container.
type ExecRequest struct {
	Cmd []string
	// Stdin, Stdout and Stderr may be nil (no such stream). The end of
	// Stdin closes the command's standard input.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// TTY gives the command a terminal; its output, stderr included, then
	// all goes to Stdout.
	TTY bool
	// Resize delivers the terminal's size changes, when TTY is set; nil
	// otherwise. The sender closes it or leaves it when the command ends.
	Resize <-chan TermSize
}

// TermSize is a terminal's size in characters.
type TermSize struct{ Width, Height uint16 }

// Errors a Runtime wraps.
var (
	ErrNotFound    = errors.New("not found")
	ErrUnavailable = errors.New("container runtime unavailable")
	ErrImagePull   = errors.New("image pull failed")
)

// PullPolicy is a container's imagePullPolicy.
type PullPolicy string

// Pull policies, as Kubernetes spells them.
const (
	PullAlways       PullPolicy = "Always"
	PullIfNotPresent PullPolicy = "IfNotPresent"
	PullNever        PullPolicy = "Never"
)

// RegistryAuth is one registry's credentials from a dockerconfigjson
// imagePullSecret.
type RegistryAuth struct {
	Registry           string // host[:port]
	Username, Password string
}

// SandboxConfig describes a pod's sandbox.
type SandboxConfig struct {
	PodUID, PodName, Namespace string
	HostPorts                  []HostPort
	// Hostname is the containers' host name (spec.hostname or the pod's
	// name, at most 63 characters; the FQDN with setHostnameAsFQDN); ""
	// means PodName.
	Hostname string
	// FQDN is <hostname>.<subdomain>.<ns>.svc.<domain> when the pod has a
	// spec.subdomain, else "". The pod's /etc/hosts maps its IP to it
	// beside Hostname.
	FQDN string
	// ResolvConf is the content of the pod's /etc/resolv.conf; "" gives
	// the containers the node's own file.
	ResolvConf string
}

// HostPort maps a port of the node to a port of the pod.
type HostPort struct {
	HostPort, ContainerPort int32
	Protocol                string // "tcp" or "udp"
	HostIP                  string
}

// Sandbox is a pod's network namespace and address.
type Sandbox struct {
	PodUID, PodName, Namespace string
	NetNS                      string // path of the network namespace
	IP                         string
	// Hostname is the containers' host name; "" means PodName (sandboxes
	// made before it was recorded).
	Hostname string `json:",omitempty"`
	// Dir is the pod's directory for volumes and logs.
	Dir string
}

// ContainerConfig is one container to create.
type ContainerConfig struct {
	// Name is the container's name in the pod; Attempt counts its
	// restarts (0 for the first run).
	Name    string
	Attempt int
	Image   string // reference, as in the pod spec
	Command []string
	Args    []string
	Env     []string // KEY=value
	WorkDir string
	Mounts  []Mount
	// CPUMilli and MemoryBytes are limits; 0 means none.
	CPUMilli    int64
	MemoryBytes int64
	// RunAsUser and RunAsGroup, when set, override the image's user.
	RunAsUser, RunAsGroup *int64
	ReadOnlyRoot          bool
	// LogPath is the file the container's output goes to, in the CRI log
	// format.
	LogPath string
}

// Mount is a bind mount into a container.
type Mount struct {
	Source, Target string
	ReadOnly       bool
}

// ContainerState is where a container is in its life.
type ContainerState string

// Container states.
const (
	StateCreated ContainerState = "created"
	StateRunning ContainerState = "running"
	StateExited  ContainerState = "exited"
	StateUnknown ContainerState = "unknown"
)

// ContainerStatus is a container as the runtime sees it.
type ContainerStatus struct {
	ID                         string
	PodUID, PodName, Namespace string
	Name                       string
	Attempt                    int
	State                      ContainerState
	CreatedAt                  time.Time
	StartedAt, FinishedAt      time.Time
	ExitCode                   int32
	// Reason is set for exits the runtime explains ("OOMKilled").
	Reason  string
	Image   string // reference it was created from
	ImageID string // digest
	LogPath string
}
