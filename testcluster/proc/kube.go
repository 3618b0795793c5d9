package proc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/netns"
)

// RestConfig returns a client-go configuration for server i as admin.
// Each request is bounded by 10 seconds.
func (c *Cluster) RestConfig(i int) (*rest.Config, error) {
	ca, err := c.caFile()
	if err != nil {
		return nil, err
	}
	return &rest.Config{
		Host:            c.URL(i),
		BearerToken:     c.AdminToken(),
		TLSClientConfig: rest.TLSClientConfig{CAFile: ca},
		Timeout:         10 * time.Second,
		QPS:             100,
		Burst:           200,
	}, nil
}

// Kube returns a clientset that talks to server i as admin.
func (c *Cluster) Kube(i int) (kubernetes.Interface, error) {
	cfg, err := c.RestConfig(i)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// caFile returns the path of a cluster CA certificate a server wrote.
func (c *Cluster) caFile() (string, error) {
	for i := range c.hosts {
		p := filepath.Join(c.DataDir(i), "ca.crt")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("proc: no server has written ca.crt yet")
}

// CLI runs the skiff binary with args against server i as admin (--server,
// --token and --certificate-authority added) and returns its combined
// output. ctx bounds it.
func (c *Cluster) CLI(ctx context.Context, i int, args ...string) (string, error) {
	ca, err := c.caFile()
	if err != nil {
		return "", err
	}
	args = append(args, "--server", c.URL(i), "--token", c.AdminToken(), "--certificate-authority", ca)
	out, err := exec.CommandContext(ctx, c.opts.Binary, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("skiff %s: %w: %s", strings.Join(args[:len(args)-6], " "), err, out)
	}
	return string(out), nil
}

// nodeStatus is the part of a Node the harness reads.
type nodeStatus struct {
	Spec struct {
		PodCIDR string `json:"podCIDR"`
	} `json:"spec"`
	Status struct {
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
	} `json:"status"`
}

// WaitWorkersReady waits until every running worker's Node has a pod CIDR
// and reports Ready=True, as any running server answers.
func (c *Cluster) WaitWorkersReady(ctx context.Context) error {
	for i := range c.workers {
		if !c.WorkerRunning(i) {
			continue
		}
		err := poll(ctx, func() error {
			if !c.WorkerRunning(i) {
				return fmt.Errorf("worker %s exited", WorkerName(i))
			}
			s := c.anyServer()
			if s < 0 {
				return errors.New("no server is running")
			}
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			code, body, err := c.Do(rctx, s, http.MethodGet, "/api/v1/nodes/"+WorkerName(i), nil)
			if err != nil {
				return err
			}
			if code != http.StatusOK {
				return fmt.Errorf("node %s: %d", WorkerName(i), code)
			}
			var n nodeStatus
			if err := json.Unmarshal(body, &n); err != nil {
				return err
			}
			if n.Spec.PodCIDR == "" {
				return fmt.Errorf("node %s has no pod CIDR", WorkerName(i))
			}
			for _, cond := range n.Status.Conditions {
				if cond.Type == "Ready" && cond.Status == "True" {
					return nil
				}
			}
			return fmt.Errorf("node %s is not Ready", WorkerName(i))
		})
		if err != nil {
			return fmt.Errorf("worker %s not ready: %w\n%s", WorkerName(i), err, c.WorkerLogTail(i, 30))
		}
	}
	return nil
}

// anyServer returns the index of a running server, or -1.
func (c *Cluster) anyServer() int {
	for i := range c.hosts {
		if c.Running(i) {
			return i
		}
	}
	return -1
}

// WorkerHTTPClient returns an HTTP client whose connections start in
// worker i's network namespace: a Service's ClusterIP answers there as it
// does on the node. Each request opens a new connection, so a Service
// picks an endpoint per request. Requests should carry their own
// deadlines; the client is valid until the cluster is closed.
func (c *Cluster) WorkerHTTPClient(i int) (*http.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.workers[i]
	if w.client != nil {
		return w.client, nil
	}
	ns, err := netns.Open(c.WorkerNetNS(i))
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 2 * time.Second}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		// The socket is made on a thread inside the namespace and stays
		// there.
		err := ns.Do(func() error {
			var err error
			conn, err = d.DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}
	w.ns = ns
	w.client = &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	return w.client, nil
}
