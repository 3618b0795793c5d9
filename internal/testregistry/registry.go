package testregistry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/skiffhq/skiff/internal/childproc"
)

// Binary is the registry program Debian's docker-registry package installs.
const Binary = "/usr/bin/docker-registry"

// RequireEnv turns a skip into a failure, as for the worker's other
// integration tests.
const RequireEnv = "SKIFF_REQUIRE_WORKER"

// startTimeout bounds the wait for the registry's first answer.
const startTimeout = 30 * time.Second

// Registry is one running registry.
type Registry struct {
	// Addr is "127.0.0.1:port", the host part of image references.
	Addr string
	// Username and Password are the credentials it requires, or "" when
	// it allows anonymous access.
	Username, Password string

	dir     string
	logPath string
	cmd     *exec.Cmd
	exited  <-chan struct{}
	http    *http.Client
}

// Option configures Start.
type Option func(*Registry)

// WithAuth makes the registry require basic auth with these credentials.
func WithAuth(username, password string) Option {
	return func(r *Registry) { r.Username, r.Password = username, password }
}

// Start runs a registry, waits until /v2/ answers, and stops it when the
// test ends. When the test failed, the cleanup logs the registry's log.
func Start(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		msg := fmt.Sprintf("testregistry: %s not found (apt-get install docker-registry, or make deps)", Binary)
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s, and %s=1 forbids skipping", msg, RequireEnv)
		}
		t.Skipf("%s; skipping (set %s=1 to fail instead)", msg, RequireEnv)
	}
	r := &Registry{dir: t.TempDir(), http: &http.Client{Timeout: time.Minute}}
	r.logPath = filepath.Join(r.dir, "registry.log")
	for _, o := range opts {
		o(r)
	}
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			b, _ := os.ReadFile(r.logPath)
			t.Logf("testregistry: log of %s:\n%s", r.Addr, b)
		}
	})
	if r.Username != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatalf("testregistry: %v", err)
		}
		line := r.Username + ":" + string(hash) + "\n"
		if err := os.WriteFile(filepath.Join(r.dir, "htpasswd"), []byte(line), 0o600); err != nil {
			t.Fatalf("testregistry: %v", err)
		}
	}
	// A port picked by binding :0 can be taken by someone else before
	// the registry binds it; a few tries make that race harmless.
	var err error
	for range 3 {
		if err = r.start(); err == nil {
			return r
		}
	}
	t.Fatalf("testregistry: %v", err)
	return nil
}

// URL is the registry's base URL, "http://127.0.0.1:port".
func (r *Registry) URL() string { return "http://" + r.Addr }

// Ref is the reference of repository:tag in this registry, e.g.
// Ref("skiff/serve:v1") = "127.0.0.1:port/skiff/serve:v1".
func (r *Registry) Ref(nameTag string) string { return r.Addr + "/" + nameTag }

func (r *Registry) start() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	r.Addr = l.Addr().String()
	l.Close()
	cfg := filepath.Join(r.dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(configYAML(r)), 0o600); err != nil {
		return err
	}
	logf, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(Binary, "serve", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	exited, err := childproc.StartDying(cmd)
	if err != nil {
		return fmt.Errorf("start %s: %w", Binary, err)
	}
	r.cmd, r.exited = cmd, exited
	if err := r.waitReady(); err != nil {
		r.stop()
		return err
	}
	return nil
}

// waitReady polls /v2/ until it answers 200, or 401 behind auth.
func (r *Registry) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.URL()+"/v2/", nil)
		if resp, err := r.http.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		select {
		case <-r.exited:
			return errors.New("registry exited while starting (port taken?)")
		case <-ctx.Done():
			return fmt.Errorf("registry did not answer on %s within %s", r.Addr, startTimeout)
		case <-tick.C:
		}
	}
}

func (r *Registry) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
	r.cmd = nil
}

// configYAML is the registry's config: filesystem storage in r.dir, no
// storage health check (it would log every 10s), htpasswd when asked.
func configYAML(r *Registry) string {
	var b strings.Builder
	fmt.Fprintf(&b, `version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
http:
  addr: %q
  secret: skiff-test-registry
`, filepath.Join(r.dir, "data"), r.Addr)
	if r.Username != "" {
		fmt.Fprintf(&b, `auth:
  htpasswd:
    realm: skiff-test
    path: %q
`, filepath.Join(r.dir, "htpasswd"))
	}
	return b.String()
}
