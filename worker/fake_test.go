package worker

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// fakeRuntime is a Runtime in memory for unit tests of the sync logic.
// Containers start "running" and stay so until a test calls exit.
type fakeRuntime struct {
	mu         sync.Mutex
	now        func() time.Time
	containers map[string]*ContainerStatus
	sandboxes  map[string]Sandbox
	images     map[string]bool
	pullErr    error
	created    []ContainerConfig
	stopped    []string
	exits      chan string
	seq        int
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{
		now:        time.Now,
		containers: map[string]*ContainerStatus{},
		sandboxes:  map[string]Sandbox{},
		images:     map[string]bool{},
		exits:      make(chan string, 16),
	}
}

func (f *fakeRuntime) Version(context.Context) (string, error) { return "fake://1.0", nil }

func (f *fakeRuntime) RunSandbox(_ context.Context, cfg SandboxConfig) (Sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sb, ok := f.sandboxes[cfg.PodUID]; ok {
		return sb, nil
	}
	sb := Sandbox{PodUID: cfg.PodUID, PodName: cfg.PodName, Namespace: cfg.Namespace, IP: fmt.Sprintf("10.0.0.%d", len(f.sandboxes)+2), Dir: "/nonexistent/" + cfg.PodUID}
	f.sandboxes[cfg.PodUID] = sb
	return sb, nil
}

func (f *fakeRuntime) RemoveSandbox(_ context.Context, uid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sandboxes, uid)
	return nil
}

func (f *fakeRuntime) ListSandboxes(context.Context) ([]Sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Sandbox
	for _, sb := range f.sandboxes {
		out = append(out, sb)
	}
	return out, nil
}

func (f *fakeRuntime) EnsureImage(_ context.Context, ref string, policy PullPolicy, _ []RegistryAuth) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pullErr != nil {
		return "", fmt.Errorf("%w: %w", ErrImagePull, f.pullErr)
	}
	return "sha256:fake", nil
}

func (f *fakeRuntime) CreateContainer(_ context.Context, sb Sandbox, cfg ContainerConfig) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := fmt.Sprintf("c%d", f.seq)
	f.created = append(f.created, cfg)
	f.containers[id] = &ContainerStatus{
		ID: id, PodUID: sb.PodUID, PodName: sb.PodName, Namespace: sb.Namespace,
		Name: cfg.Name, Attempt: cfg.Attempt, State: StateCreated, CreatedAt: f.now(),
		Image: cfg.Image, ImageID: "sha256:fake",
	}
	return id, nil
}

func (f *fakeRuntime) StartContainer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	c.State, c.StartedAt = StateRunning, f.now()
	return nil
}

// exit ends the running container of pod uid named name with code.
func (f *fakeRuntime) exit(name string, code int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.containers {
		if c.Name == name && c.State == StateRunning {
			c.State, c.ExitCode, c.FinishedAt = StateExited, code, f.now()
		}
	}
}

func (f *fakeRuntime) StopContainer(_ context.Context, id string, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.containers[id]; ok && c.State == StateRunning {
		c.State, c.ExitCode, c.FinishedAt = StateExited, 137, f.now()
		f.stopped = append(f.stopped, id)
	}
	return nil
}

func (f *fakeRuntime) RemoveContainer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, id)
	return nil
}

func (f *fakeRuntime) ListContainers(_ context.Context, uid string) ([]ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ContainerStatus
	for _, c := range f.containers {
		if uid == "" || c.PodUID == uid {
			out = append(out, *c)
		}
	}
	return out, nil
}

func (f *fakeRuntime) Exec(context.Context, string, ExecRequest) (int, error) {
	return 0, nil
}

func (f *fakeRuntime) Exits() <-chan string { return f.exits }

func (f *fakeRuntime) SetPodCIDR(string) error { return nil }
