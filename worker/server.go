package worker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// endpoint is the worker's HTTPS endpoint (kubelet's port 10250): it
// serves /containerLogs/{namespace}/{pod}/{container},
// /exec/{namespace}/{pod}/{container}, /stats/summary and POST
// /images/import to the API servers only, which prove who they are with a
// certificate of the cluster CA that is good for server authentication
// (servers' certificates are; the CA issues nothing else with that usage).
type endpoint struct {
	w   *Worker
	ln  net.Listener
	srv *http.Server
}

// listen binds the endpoint; serve starts it. The serving certificate is
// self-signed, made at every start: API servers do not verify it, as
// kube-apiserver does not verify kubelets without a
// --kubelet-certificate-authority.
func (w *Worker) listen(caPEM []byte) (*endpoint, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("worker endpoint: no cluster CA")
	}
	cert, err := selfSigned(w.cfg.Name)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", w.cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("listen_addr %s: %w", w.cfg.ListenAddr, err)
	}
	e := &endpoint{w: w, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", e.containerLogs)
	mux.HandleFunc("GET /exec/{namespace}/{pod}/{container}", e.exec)
	mux.HandleFunc("POST /exec/{namespace}/{pod}/{container}", e.exec)
	mux.HandleFunc("GET /stats/summary", e.statsSummary)
	mux.HandleFunc("POST /images/import", e.importImage)
	e.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    pool,
			VerifyPeerCertificate: func(_ [][]byte, chains [][]*x509.Certificate) error {
				if len(chains) == 0 || !slices.Contains(chains[0][0].ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
					return errors.New("only the control plane may call the worker")
				}
				return nil
			},
		},
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	w.node.port = int32(p)
	return e, nil
}

// serve runs until ctx ends.
func (e *endpoint) serve(ctx context.Context) {
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		e.srv.Shutdown(sctx)
		e.srv.Close()
	}()
	if err := e.srv.ServeTLS(e.ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		e.w.log.Error("worker endpoint stopped", "err", err)
	}
}

// containerLogs serves kubectl logs: follow, tailLines, sinceSeconds,
// sinceTime, timestamps and previous, as the kubelet reads them.
func (e *endpoint) containerLogs(rw http.ResponseWriter, r *http.Request) {
	ns, podName, name := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	q := r.URL.Query()
	opts := LogOptions{TailLines: -1, Follow: q.Get("follow") == "true", Timestamps: q.Get("timestamps") == "true"}
	if s := q.Get("tailLines"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			http.Error(rw, "tailLines must be a non-negative integer", http.StatusBadRequest)
			return
		}
		opts.TailLines = n
	}
	if s := q.Get("sinceSeconds"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			http.Error(rw, "sinceSeconds must be a positive integer", http.StatusBadRequest)
			return
		}
		opts.Since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	if s := q.Get("sinceTime"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			http.Error(rw, "sinceTime must be RFC 3339", http.StatusBadRequest)
			return
		}
		opts.Since = t
	}
	uid, ok := e.w.pods.uidOf(ns, podName)
	if !ok {
		http.Error(rw, fmt.Sprintf("pod %s/%s is not on this node", ns, podName), http.StatusNotFound)
		return
	}
	cs, err := e.w.rt.ListContainers(r.Context(), string(uid))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusServiceUnavailable)
		return
	}
	want := latestByName(cs)
	if q.Get("previous") == "true" {
		want = previousByName(cs)
	}
	c, ok := want[name]
	if !ok {
		http.Error(rw, fmt.Sprintf("container %q of pod %s/%s has no such log", name, ns, podName), http.StatusNotFound)
		return
	}
	running := func() bool {
		cur, err := e.w.rt.ListContainers(r.Context(), string(uid))
		if err != nil {
			return false
		}
		for _, x := range cur {
			if x.ID == c.ID {
				return x.State == StateRunning
			}
		}
		return false
	}
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := writeLogs(r.Context(), flushWriter{rw}, c.LogPath, opts, running); err != nil {
		e.w.log.Debug("serving logs", "pod", ns+"/"+podName, "container", name, "err", err)
	}
}

type flushWriter struct{ http.ResponseWriter }

func (f flushWriter) Flush() {
	if fl, ok := f.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

// selfSigned makes the endpoint's serving certificate.
func selfSigned(name string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "skiff-worker:" + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{name},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// uidOf finds a pod this node runs by namespace and name.
func (m *podManager) uidOf(ns, name string) (types.UID, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for uid, pw := range m.workers {
		pw.mu.Lock()
		p := pw.latest
		pw.mu.Unlock()
		if p != nil && p.Namespace == ns && p.Name == name {
			return uid, true
		}
	}
	return "", false
}
