package worker_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/internal/pki"
)

// clusterCA reads the cluster CA, key included, from a server's store: a
// test stands in for the API server when it calls the worker.
func clusterCA(t *testing.T, e *env) *pki.CA {
	t.Helper()
	kv, ok, _ := e.c.Server(0).Replica().Store().Get("/registry/skiff.io/pki/ca")
	if !ok {
		t.Fatal("no cluster CA in the store")
	}
	var sc struct{ Cert, Key []byte }
	if err := json.Unmarshal(kv.Value, &sc); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.LoadCA(sc.Cert, sc.Key)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func clientWith(t *testing.T, certPEM, keyPEM []byte) *http.Client {
	t.Helper()
	var certs []tls.Certificate
	if certPEM != nil {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, pair)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: certs, InsecureSkipVerify: true}, // the worker's cert is self-signed
	}}
}

func TestWorkerServesLogsToTheControlPlaneOnly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createPod(t, "chatty", nil, corev1.EnvVar{Name: "LOG_LINES", Value: "5"}, corev1.EnvVar{Name: "EXIT_AFTER", Value: "300ms"}, corev1.EnvVar{Name: "EXIT_CODE", Value: "0"})
	e.waitFor(t, "a restart of chatty", 30*time.Second, func() bool {
		p := e.pod("chatty")
		return p != nil && len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	n, err := e.admin.CoreV1().Nodes().Get(ctx, "w1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("https://127.0.0.1:%d/containerLogs/default/chatty/app", n.Status.DaemonEndpoints.KubeletEndpoint.Port)
	ca := clusterCA(t, e)
	srvCert, srvKey, err := ca.IssueServer("s9", []string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cp := clientWith(t, srvCert, srvKey)

	// stdout and stderr are separate pipes, so only each stream's own
	// order is fixed.
	for _, tc := range []struct{ query, want string }{
		{"?previous=true", "testapp starting\nline 0\nline 1\nline 2\nline 3\nline 4\n"},
		{"?previous=true&tailLines=1", "exiting with 0\n"},
	} {
		resp, err := cp.Get(base + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := strings.ReplaceAll(string(b), "testapp stderr\n", "")
		if resp.StatusCode != 200 || !strings.HasPrefix(got, tc.want) {
			t.Errorf("logs%s: %d %q, want stdout to start with %q", tc.query, resp.StatusCode, b, tc.want)
		}
	}

	// Through the API, as kubectl logs asks: every server proxies to the
	// worker with its own certificate.
	for i := range 3 {
		api, err := kubernetes.NewForConfig(e.c.RestConfig(i))
		if err != nil {
			t.Fatal(err)
		}
		b, err := api.CoreV1().Pods("default").GetLogs("chatty", &corev1.PodLogOptions{Previous: true, TailLines: ptr.To[int64](1)}).DoRaw(ctx)
		if err != nil || string(b) != "exiting with 0\n" {
			t.Errorf("server %d: pods/chatty/log = %q, %v; want the last line of the previous run", i, b, err)
		}
	}
	if _, err := e.admin.CoreV1().Pods("default").GetLogs("chatty", &corev1.PodLogOptions{Container: "nope"}).DoRaw(ctx); !apierrors.IsBadRequest(err) {
		t.Errorf("logs of an unknown container: %v, want 400", err)
	}

	// A client certificate of the same CA that is not a server's, and no
	// certificate at all, are refused at the handshake.
	userCert, userKey, err := ca.IssueClient("mallory", nil, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*http.Client{"client cert": clientWith(t, userCert, userKey), "no cert": clientWith(t, nil, nil)} {
		if resp, err := c.Get(base); err == nil {
			resp.Body.Close()
			t.Errorf("%s: got %d, want the handshake refused", name, resp.StatusCode)
		}
	}
}
