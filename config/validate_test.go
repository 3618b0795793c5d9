package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *Server)
		want   string // substring of the error; "" means valid
	}{
		{"defaults", func(*Server) {}, ""},
		{"name required", func(s *Server) { s.Name = "" }, "name is required"},
		{"name with slash", func(s *Server) { s.Name = "a/b" }, `name "a/b"`},
		{"data_dir required", func(s *Server) { s.DataDir = "" }, "data_dir is required"},
		{"api_addr required", func(s *Server) { s.APIAddr = "" }, "api_addr is required"},
		{"missing port", func(s *Server) { s.APIAddr = "127.0.0.1" }, `api_addr "127.0.0.1": missing port`},
		{"port too big", func(s *Server) { s.RaftAddr = "127.0.0.1:70000" }, `raft_addr "127.0.0.1:70000": port "70000"`},
		{"named port", func(s *Server) { s.GossipAddr = "127.0.0.1:http" }, `gossip_addr "127.0.0.1:http": port "http"`},
		{"bad host", func(s *Server) { s.APIAddr = "bad_host!:1" }, `api_addr "bad_host!:1": host "bad_host!" is neither`},
		{"unresolvable host", func(s *Server) { s.APIAddr = "nowhere.invalid:1" }, `api_addr "nowhere.invalid:1": cannot resolve`},
		{"resolvable host", func(s *Server) { s.APIAddr = "localhost:8000" }, ""},
		{"ipv6", func(s *Server) { s.APIAddr = "[::1]:8000" }, ""},
		{"all interfaces, empty host", func(s *Server) { s.APIAddr = ":8000" }, ""},
		{"same host and port", func(s *Server) { s.RaftAddr = "127.0.0.1:7443" }, "raft_addr 127.0.0.1:7443 clashes with api_addr"},
		{"same port, one on all interfaces", func(s *Server) { s.GossipAddr = "0.0.0.0:7001" }, "gossip_addr 0.0.0.0:7001 clashes with raft_addr"},
		{"same port, ipv6 any", func(s *Server) { s.GossipAddr = "[::]:7443" }, "gossip_addr [::]:7443 clashes with api_addr"},
		{"same port, other hosts", func(s *Server) { s.RaftAddr = "127.0.0.2:7443" }, ""},
		{"port 0 never clashes", func(s *Server) { s.APIAddr, s.RaftAddr, s.GossipAddr = "0.0.0.0:0", "127.0.0.1:0", ":0" }, ""},
		{"bootstrap_expect 0", func(s *Server) { s.BootstrapExpect = 0 }, "bootstrap_expect must be at least 1, got 0"},
		{"token required for ha", func(s *Server) { s.BootstrapExpect = 3 }, "token is required"},
		{"token required for join", func(s *Server) { s.Join = []string{"127.0.0.2:7946"} }, "token is required"},
		{"token too short", func(s *Server) { s.Token = "short" }, "token must be at least 16 characters, got 5"},
		{"token never echoed", func(s *Server) { s.Token = "secret" }, "got 6"},
		{"ha with token", func(s *Server) { s.BootstrapExpect, s.Token, s.Join = 3, token, []string{"s2.test:7946"} }, ""},
		{"accepted tokens", func(s *Server) {
			s.Token, s.AcceptedTokens = token, []string{"fedcba9876543210", "the-old-cluster-token"}
		}, ""},
		{"accepted token too short", func(s *Server) { s.Token, s.AcceptedTokens = token, []string{"fedcba9876543210", "old"} },
			"accepted_tokens[1] must be at least 16 characters, got 3"},
		{"accepted token is the token", func(s *Server) { s.Token, s.AcceptedTokens = token, []string{token} },
			"accepted_tokens[0] is the same as token"},
		{"accepted token repeated", func(s *Server) {
			s.Token, s.AcceptedTokens = token, []string{"fedcba9876543210", "another-old-token", "fedcba9876543210"}
		}, "accepted_tokens[2] repeats accepted_tokens[0]"},
		{"join missing port", func(s *Server) { s.Token, s.Join = token, []string{"127.0.0.2"} }, `join[0] "127.0.0.2": missing port`},
		{"join port 0", func(s *Server) { s.Token, s.Join = token, []string{"127.0.0.2:0"} }, `join[0] "127.0.0.2:0": port 0`},
		{"join bad host", func(s *Server) { s.Token, s.Join = token, []string{"a:1", "-x-:1"} }, `join[1] "-x-:1": host`},
		{"log level", func(s *Server) { s.LogLevel = "trace" }, `log_level "trace"`},
		{"log level upper case", func(s *Server) { s.LogLevel = "DEBUG" }, ""},
		{"zero duration", func(s *Server) { s.Raft.CommitTimeout = 0 }, "raft.commit_timeout must be positive, got 0s"},
		{"negative duration", func(s *Server) { s.Raft.SnapshotInterval = -time.Second }, "raft.snapshot_interval must be positive, got -1s"},
		{"below raft minimum", func(s *Server) { s.Raft.HeartbeatTimeout = time.Millisecond }, "raft.heartbeat_timeout must be at least 5ms"},
		{"lease above heartbeat", func(s *Server) {
			s.Raft.HeartbeatTimeout, s.Raft.ElectionTimeout, s.Raft.LeaderLeaseTimeout = 500*time.Millisecond, time.Second, time.Second
		}, "raft.leader_lease_timeout 1s must not exceed raft.heartbeat_timeout 500ms"},
		{"election below heartbeat", func(s *Server) {
			s.Raft.HeartbeatTimeout, s.Raft.ElectionTimeout, s.Raft.LeaderLeaseTimeout = 500*time.Millisecond, 400*time.Millisecond, 100*time.Millisecond
		}, "raft.election_timeout 400ms must be at least raft.heartbeat_timeout 500ms"},
		{"snapshot threshold", func(s *Server) { s.Raft.SnapshotThreshold = 0 }, "raft.snapshot_threshold must be at least 1"},
		{"watch log size", func(s *Server) { s.Raft.WatchLogSize = -1 }, "raft.watch_log_size must be at least 1, got -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultServer()
			s.Name = "s1" // the host name of the test machine may not be a valid name
			tt.change(&s)
			err := s.validate(fakeLookup)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("validate: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("validate succeeded, want error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
			if err != nil && s.Token != "" && strings.Contains(err.Error(), s.Token) {
				t.Errorf("error %q reveals the token", err)
			}
			for _, a := range s.AcceptedTokens {
				if err != nil && strings.Contains(err.Error(), a) {
					t.Errorf("error %q reveals an accepted token", err)
				}
			}
		})
	}
}

func TestDevServerIsValid(t *testing.T) {
	if err := DevServer().validate(fakeLookup); err != nil {
		t.Fatal(err)
	}
}
