package pki

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

func TestWriteKubeconfig(t *testing.T) {
	ca := mustCA(t, "skiff-ca", time.Now())
	dir := t.TempDir()
	path := filepath.Join(dir, "nested", "admin.kubeconfig")

	// Write twice: the second write replaces the first, including a file
	// that was left readable by others.
	if err := WriteKubeconfig(path, "https://127.0.0.1:1", ca.CertPEM, "admin", "old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	const url, token = "https://10.0.0.1:6443", "skf1.0123456789abcdef.0123456789abcdef0123456789abcdef"
	if err := WriteKubeconfig(path, url, ca.CertPEM, "admin", token); err != nil {
		t.Fatal(err)
	}

	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", st.Mode().Perm())
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the kubeconfig (temporary file left behind?)", len(entries))
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("BuildConfigFromFlags: %v", err)
	}
	if cfg.Host != url {
		t.Errorf("Host = %q, want %q", cfg.Host, url)
	}
	if cfg.BearerToken != token {
		t.Errorf("BearerToken = %q, want %q", cfg.BearerToken, token)
	}
	if !bytes.Equal(cfg.TLSClientConfig.CAData, ca.CertPEM) {
		t.Error("CAData differs from the CA certificate")
	}

	raw, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if raw.CurrentContext != "skiff" || raw.Contexts["skiff"].Cluster != "skiff" || raw.Contexts["skiff"].AuthInfo != "admin" {
		t.Errorf("context = %q %+v", raw.CurrentContext, raw.Contexts["skiff"])
	}
}

func TestWriteKubeconfigInvalid(t *testing.T) {
	ca := mustCA(t, "skiff-ca", time.Now())
	dir := t.TempDir()
	tests := []struct {
		name, url, user string
	}{
		{"no server", "", "admin"},
		{"no user", "https://127.0.0.1:6443", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "kubeconfig")
			if err := WriteKubeconfig(path, tt.url, ca.CertPEM, tt.user, "t"); err == nil {
				t.Fatal("WriteKubeconfig succeeded")
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("a file was written: %v", err)
			}
		})
	}
}
