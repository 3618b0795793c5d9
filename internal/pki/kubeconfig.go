package pki

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeconfigName is the cluster and context name WriteKubeconfig uses.
const KubeconfigName = "skiff"

// WriteKubeconfig writes a kubeconfig to path whose current context,
// "skiff", reaches serverURL as user, trusting caPEM (inlined) and
// presenting token as a bearer token.
//
// The file is replaced atomically (a temporary file in the same directory
// is written, synced and renamed over path) with mode 0600, so a reader
// never sees half a file and the token is never readable by others. The
// parent directory is created with mode 0700 when missing.
func WriteKubeconfig(path, serverURL string, caPEM []byte, user, token string) error {
	if user == "" {
		return errors.New("write kubeconfig: empty user name")
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[KubeconfigName] = &clientcmdapi.Cluster{
		Server:                   serverURL,
		CertificateAuthorityData: caPEM,
	}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[KubeconfigName] = &clientcmdapi.Context{Cluster: KubeconfigName, AuthInfo: user}
	cfg.CurrentContext = KubeconfigName
	if err := clientcmd.Validate(*cfg); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with data, mode 0600, through a synced
// temporary file and a rename, then syncs the directory so the rename
// survives a crash.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		// Syncing the directory is best effort: some filesystems refuse it,
		// and the file itself is already complete.
		_ = d.Sync()
		d.Close()
	}
	return nil
}
