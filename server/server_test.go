package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/server"
)

// loneConfig is a single server without a token on loopback ports chosen
// by the kernel.
func loneConfig(dir string) config.Server {
	cfg := config.DefaultServer()
	cfg.Name = "solo"
	cfg.DataDir = dir
	cfg.APIAddr = "127.0.0.1:0"
	cfg.RaftAddr = "127.0.0.1:0"
	cfg.GossipAddr = "127.0.0.1:0"
	cfg.BootstrapExpect = 1
	cfg.Token = ""
	return cfg
}

// waitWrite proposes a write until the lone server has elected itself and
// applies it, or ctx ends.
func waitWrite(t *testing.T, ctx context.Context, s *server.Server, key string) {
	t.Helper()
	res, err := s.Replica().Propose(ctx, &fsm.Command{Op: fsm.OpPut, Key: key, Value: []byte("v")})
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		t.Fatalf("write %s: %v", key, err)
	}
}

// TestLoneServerGeneratesToken starts a single server without a token: it
// writes a new token to <data_dir>/token, readable by its owner only, and
// a restart from the same data directory reuses it.
func TestLoneServerGeneratesToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := loneConfig(t.TempDir())
	path := filepath.Join(cfg.DataDir, config.TokenFile)

	s, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("token file: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("token file mode %v, want 0600", perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	if len(token) < config.MinTokenLen || s.Token() != token {
		t.Fatalf("server token %q, file holds %q", s.Token(), token)
	}
	waitWrite(t, ctx, s, "/registry/configmaps/default/a")
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	s2, err := server.New(cfg, nil)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Cleanup(s2.Kill)
	if s2.Token() != token {
		t.Fatalf("restarted server token %q, want the saved %q", s2.Token(), token)
	}
	waitWrite(t, ctx, s2, "/registry/configmaps/default/b")
	if _, ok, _ := s2.Replica().Store().Get("/registry/configmaps/default/a"); !ok {
		t.Errorf("restarted server lost the write made before the restart")
	}
}

// TestTokenFileProblems covers token files a lone server must refuse.
func TestTokenFileProblems(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
	}{
		{"too short", "short\n"},
		{"blank", "\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loneConfig(t.TempDir())
			if err := os.WriteFile(filepath.Join(cfg.DataDir, config.TokenFile), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := server.New(cfg, nil)
			if err == nil {
				s.Kill()
				t.Fatalf("server started with token file %q", tc.content)
			}
		})
	}
}

// TestConfiguredTokenWins checks that a configured token is used as is and
// no token file is written.
func TestConfiguredTokenWins(t *testing.T) {
	cfg := loneConfig(t.TempDir())
	cfg.Token = "0123456789abcdef-configured"
	s, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Kill()
	if s.Token() != cfg.Token {
		t.Errorf("token %q, want the configured %q", s.Token(), cfg.Token)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, config.TokenFile)); !os.IsNotExist(err) {
		t.Errorf("token file written although a token is configured: %v", err)
	}
}
