package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadServer feeds arbitrary bytes to LoadServer as a YAML file. It must
// never panic, and whatever it accepts must be valid.
func FuzzLoadServer(f *testing.F) {
	seeds := []string{
		"",
		"name: s1\napi_addr: 127.0.0.1:0\n",
		"raft:\n  heartbeat_timeout: 1s\n  election_timeout: 1s\n",
		"raft: 5\n",
		"raft:\n  bogus: [1, 2]\n",
		"join: 10.0.0.1:7946,10.0.0.2:7946\ntoken: 0123456789abcdef\n",
		"join: [{a: 1}]\n",
		"bootstrap_expect: 99999999999999999999\n",
		"x: &a [*a]\n",
		"? [a]\n: b\n",
		"name: !!binary aGVsbG8=\n",
		"api_addr: [::]:7443\ngossip_addr: '[::]:7443'\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if ex, err := filepath.Glob("../examples/*.yaml"); err == nil {
		for _, p := range ex {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "server.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := loadServer(path, nil, nil, fakeLookup)
		if err != nil {
			return
		}
		if err := s.validate(fakeLookup); err != nil {
			t.Fatalf("loadServer accepted a configuration that does not validate: %v", err)
		}
	})
}
