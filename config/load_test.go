package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// fakeLookup resolves "localhost" and names ending in ".test"; everything
// else fails, without touching DNS.
func fakeLookup(_ context.Context, host string) ([]string, error) {
	if host == "localhost" || strings.HasSuffix(host, ".test") {
		return []string{"127.0.0.1"}, nil
	}
	return nil, errors.New("no such host")
}

// writeConfig writes content to server.yaml in a fresh directory and
// returns its path; content "" means no file.
func writeConfig(t testing.TB, content string) string {
	t.Helper()
	if content == "" {
		return ""
	}
	path := filepath.Join(t.TempDir(), "server.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serverFlagSet returns a flag set with ServerFlags registered and args parsed.
func serverFlagSet(t *testing.T, args []string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	ServerFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse flags %q: %v", args, err)
	}
	return fs
}

const token = "0123456789abcdef"

func TestLoadServerPrecedence(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		args []string
		want func(s *Server)
	}{
		{name: "defaults", want: func(*Server) {}},
		{
			name: "file",
			file: "name: s1\napi_addr: 127.0.0.1:8000\nraft:\n  heartbeat_timeout: 1s\n  election_timeout: 2s\n",
			want: func(s *Server) {
				s.Name, s.DataDir, s.APIAddr = "s1", "/var/lib/skiff/s1", "127.0.0.1:8000"
				s.Raft.HeartbeatTimeout, s.Raft.ElectionTimeout = time.Second, 2*time.Second
			},
		},
		{
			name: "env over file",
			file: "api_addr: 127.0.0.1:8000\n",
			env:  []string{"SKIFF_API_ADDR=127.0.0.1:8001", "PATH=/bin"},
			want: func(s *Server) { s.APIAddr = "127.0.0.1:8001" },
		},
		{
			name: "flag over env over file",
			file: "api_addr: 127.0.0.1:8000\n",
			env:  []string{"SKIFF_API_ADDR=127.0.0.1:8001"},
			args: []string{"--api-addr", "127.0.0.1:8002"},
			want: func(s *Server) { s.APIAddr = "127.0.0.1:8002" },
		},
		{
			name: "unset flags keep file values",
			file: "api_addr: 127.0.0.1:8000\nbootstrap_expect: 1\n",
			args: []string{},
			want: func(s *Server) { s.APIAddr = "127.0.0.1:8000" },
		},
		{
			name: "empty env counts as unset",
			file: "log_level: debug\n",
			env:  []string{"SKIFF_LOG_LEVEL="},
			want: func(s *Server) { s.LogLevel = "debug" },
		},
		{
			name: "data_dir follows name",
			env:  []string{"SKIFF_NAME=s7"},
			want: func(s *Server) { s.Name, s.DataDir = "s7", "/var/lib/skiff/s7" },
		},
		{
			name: "explicit data_dir",
			args: []string{"--name", "s7", "--data-dir", "/tmp/x"},
			want: func(s *Server) { s.Name, s.DataDir = "s7", "/tmp/x" },
		},
		{
			name: "join from env, comma-separated",
			env:  []string{"SKIFF_JOIN=10.0.0.1:7946, 10.0.0.2:7946,", "SKIFF_TOKEN=" + token, "SKIFF_BOOTSTRAP_EXPECT=3"},
			want: func(s *Server) {
				s.Join, s.Token, s.BootstrapExpect = []string{"10.0.0.1:7946", "10.0.0.2:7946"}, token, 3
			},
		},
		{
			name: "accepted tokens from a file list, env beats it",
			file: "token: " + token + "\naccepted_tokens:\n  - old-token-0123456789\n",
			env:  []string{"SKIFF_ACCEPTED_TOKENS=new-token-0123456789,older-token-0123456789"},
			want: func(s *Server) {
				s.Token, s.AcceptedTokens = token, []string{"new-token-0123456789", "older-token-0123456789"}
			},
		},
		{
			name: "accepted tokens from repeated flags",
			args: []string{"--token", token, "--accepted-tokens", "old-token-0123456789", "--accepted-tokens", "new-token-0123456789"},
			want: func(s *Server) {
				s.Token, s.AcceptedTokens = token, []string{"old-token-0123456789", "new-token-0123456789"}
			},
		},
		{
			name: "join from repeated flags over file list",
			file: "token: " + token + "\njoin:\n  - 10.0.0.9:7946\n",
			args: []string{"--join", "10.0.0.1:7946", "--join", "s2.test:7946"},
			want: func(s *Server) { s.Join, s.Token = []string{"10.0.0.1:7946", "s2.test:7946"}, token },
		},
		{
			name: "nested raft keys from every source",
			file: "raft:\n  snapshot_threshold: 10\n  trailing_logs: 20\n  watch_log_size: 30\n",
			env:  []string{"SKIFF_RAFT_TRAILING_LOGS=21", "SKIFF_RAFT_COMMIT_TIMEOUT=20ms"},
			args: []string{"--raft-watch-log-size=31", "--raft-snapshot-interval=1m"},
			want: func(s *Server) {
				s.Raft.SnapshotThreshold, s.Raft.TrailingLogs, s.Raft.WatchLogSize = 10, 21, 31
				s.Raft.CommitTimeout, s.Raft.SnapshotInterval = 20*time.Millisecond, time.Minute
			},
		},
		{
			name: "empty raft section and null values keep defaults",
			file: "raft:\nname:\n",
			want: func(*Server) {},
		},
		{
			name: "port 0 everywhere",
			file: "api_addr: 127.0.0.1:0\nraft_addr: 127.0.0.1:0\ngossip_addr: 127.0.0.1:0\n",
			want: func(s *Server) { s.APIAddr, s.RaftAddr, s.GossipAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fs *pflag.FlagSet
			if tt.args != nil {
				fs = serverFlagSet(t, tt.args)
			}
			got, err := loadServer(writeConfig(t, tt.file), fs, tt.env, fakeLookup)
			if err != nil {
				t.Fatalf("loadServer: %v", err)
			}
			want := DefaultServer()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadServerErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		args []string
		want []string // substrings of the error
	}{
		{name: "unknown key", file: "raft_adr: 127.0.0.1:7001\n", want: []string{`server.yaml: unknown key "raft_adr"`}},
		{name: "unknown nested key", file: "raft:\n  bogus: 1\n", want: []string{`unknown key "raft.bogus"`}},
		{name: "map under a value key", file: "name:\n  first: a\n", want: []string{`unknown key "name.first"`}},
		{name: "raft not a map", file: "raft: 5\n", want: []string{"raft must be a map of settings, got an integer"}},
		{name: "not yaml", file: "name: [\n", want: []string{"server.yaml"}},
		{name: "top level list", file: "- a\n- b\n", want: []string{"server.yaml"}},
		{name: "duplicate key", file: "name: a\nname: b\n", want: []string{"server.yaml", "name"}},
		{name: "string expected", file: "name: 12\n", want: []string{"name: expected a string, got an integer", "set in"}},
		{name: "integer expected", file: "bootstrap_expect: three\n", want: []string{`bootstrap_expect: "three" is not an integer`}},
		{name: "negative uint", file: "raft:\n  trailing_logs: -1\n", want: []string{"raft.trailing_logs: -1 is negative"}},
		{name: "duration without unit", file: "raft:\n  commit_timeout: 10\n", want: []string{"raft.commit_timeout: expected a duration"}},
		{name: "bad duration from env", env: []string{"SKIFF_RAFT_ELECTION_TIMEOUT=soon"},
			want: []string{`raft.election_timeout: "soon" is not a duration`, "set by SKIFF_RAFT_ELECTION_TIMEOUT"}},
		{name: "join item not a string", file: "join:\n  - {a: 1}\n", want: []string{"join: item 0: expected a string, got a map"}},
		{name: "accepted token not a string", file: "accepted_tokens: [1234567890123456789]\n",
			want: []string{"accepted_tokens: item 0: expected a string, got an integer"}},
		{name: "accepted token too short from env", env: []string{"SKIFF_TOKEN=" + token, "SKIFF_ACCEPTED_TOKENS=short"},
			want: []string{"accepted_tokens[0] must be at least 16 characters, got 5"}},
		{name: "validation after merge", env: []string{"SKIFF_NAME=s1", "SKIFF_BOOTSTRAP_EXPECT=3"},
			want: []string{"token is required when bootstrap_expect > 1 or join is set"}},
		{name: "explicit empty name", file: "name: \"\"\n", want: []string{"name is required"}},
		{name: "clash from flags", args: []string{"--raft-addr", "127.0.0.1:7443"},
			want: []string{"raft_addr 127.0.0.1:7443 clashes with api_addr"}},
		{name: "missing port from env", env: []string{"SKIFF_API_ADDR=127.0.0.1"},
			want: []string{`api_addr "127.0.0.1": missing port`}},
		{name: "several problems at once", file: "bootstrap_expect: 0\nlog_level: loud\n",
			want: []string{"bootstrap_expect must be at least 1", `log_level "loud"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fs *pflag.FlagSet
			if tt.args != nil {
				fs = serverFlagSet(t, tt.args)
			}
			_, err := loadServer(writeConfig(t, tt.file), fs, tt.env, fakeLookup)
			if err == nil {
				t.Fatal("loadServer succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadServerMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := LoadServer(path, nil, nil)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v, want a not-exist error naming %s", err, path)
	}
}

func TestServerFlagsNames(t *testing.T) {
	fs := serverFlagSet(t, nil)
	for _, name := range []string{"name", "data-dir", "api-addr", "raft-addr", "gossip-addr", "bootstrap-expect",
		"join", "token", "accepted-tokens", "log-level", "raft-heartbeat-timeout", "raft-election-timeout", "raft-leader-lease-timeout",
		"raft-commit-timeout", "raft-snapshot-threshold", "raft-snapshot-interval", "raft-trailing-logs",
		"raft-watch-log-size"} {
		if fs.Lookup(name) == nil {
			t.Errorf("flag --%s is not registered", name)
		}
	}
}

// TestExamples keeps the example files in the repository loadable; files
// named worker*.yaml are worker configurations.
func TestExamples(t *testing.T) {
	paths, err := filepath.Glob("../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ha, _ := filepath.Glob("../examples/ha/*.yaml")
	paths = append(paths, ha...)
	if len(paths) == 0 {
		t.Skip("no examples")
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			var err error
			if strings.HasPrefix(filepath.Base(p), "worker") {
				_, err = load(workerSchema(), p, nil, nil, fakeLookup)
			} else {
				_, err = loadServer(p, nil, nil, fakeLookup)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
}
