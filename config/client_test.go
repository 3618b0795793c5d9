package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestLoadClient(t *testing.T) {
	tokenDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(tokenDir, TokenFile), []byte("from-token-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withTokenFile := "name: s1\ndata_dir: " + tokenDir + "\napi_addr: 127.0.0.2:9000\n"
	tests := []struct {
		name string
		file string
		env  []string
		args []string
		want Client
	}{
		{name: "defaults", want: Client{Server: DefaultServerURL}},
		{name: "config api_addr and token file", file: withTokenFile,
			want: Client{Server: "https://127.0.0.2:9000", Token: "from-token-file"}},
		{name: "config token beats token file", file: withTokenFile + "token: " + token + "\n",
			want: Client{Server: "https://127.0.0.2:9000", Token: token}},
		{name: "env beats config", file: withTokenFile,
			env:  []string{"SKIFF_SERVER=https://api.test:443/", "SKIFF_TOKEN=from-env"},
			want: Client{Server: "https://api.test:443", Token: "from-env"}},
		{name: "flags beat env", file: withTokenFile,
			env:  []string{"SKIFF_SERVER=http://env.test", "SKIFF_TOKEN=from-env"},
			args: []string{"--server", "http://flag.test:1", "--token", "from-flag"},
			want: Client{Server: "http://flag.test:1", Token: "from-flag"}},
		{name: "all interfaces dialled through loopback", file: "name: s1\napi_addr: 0.0.0.0:9000\n",
			want: Client{Server: "https://127.0.0.1:9000"}},
		{name: "ipv6 any", file: "name: s1\napi_addr: '[::]:9000'\n",
			want: Client{Server: "https://[::1]:9000"}},
		{name: "server env ignores SKIFF_API_ADDR", env: []string{"SKIFF_API_ADDR=127.0.0.9:1"},
			want: Client{Server: DefaultServerURL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("client", pflag.ContinueOnError)
			ClientFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			got, err := LoadClient(writeConfig(t, tt.file), fs, tt.env)
			if err != nil {
				t.Fatalf("LoadClient: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoadClientErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		want string
	}{
		{"bad config", "raft_adr: x\n", nil, `unknown key "raft_adr"`},
		{"not a URL", "", []string{"SKIFF_SERVER=127.0.0.1:7443"}, `server "127.0.0.1:7443": want a URL`},
		{"wrong scheme", "", []string{"SKIFF_SERVER=ftp://x"}, `server "ftp://x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadClient(writeConfig(t, tt.file), nil, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestLoadClientDevToken checks that the token file of `skiff dev` is used
// for the default server only.
func TestLoadClientDevToken(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.MkdirAll(DevDataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(DevDataDir, TokenFile), []byte("dev-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadClient("", nil, nil)
	if err != nil || c.Token != "dev-token" {
		t.Fatalf("default server: got %+v, %v; want the dev token", c, err)
	}
	c, err = LoadClient("", nil, []string{"SKIFF_SERVER=http://elsewhere.test:7443"})
	if err != nil || c.Token != "" {
		t.Fatalf("other server: got %+v, %v; want no token", c, err)
	}
}
