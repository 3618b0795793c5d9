package worker

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeState is one running container's probe results. The pod worker's
// loop owns it; a new container gets a fresh one.
type probeState struct {
	containerID string
	started     bool // startup probe passed (or none)
	ready       bool
	// next due time and consecutive results per probe kind.
	next      [3]time.Time
	successes [3]int32
	failures  [3]int32
}

const (
	kindStartup = iota
	kindLiveness
	kindReadiness
)

var kindNames = [3]string{"Startup", "Liveness", "Readiness"}

// probe runs the container's due probes and acts on them: a failed
// liveness (or startup) probe kills the container, which the restart
// policy then restarts. It returns when the next probe is due, or zero.
func (pw *podWorker) probe(ctx context.Context, pod *corev1.Pod, c *corev1.Container, cur ContainerStatus, now time.Time) time.Time {
	ps := pw.probes[c.Name]
	if ps == nil || ps.containerID != cur.ID {
		ps = &probeState{containerID: cur.ID, started: c.StartupProbe == nil}
		for k, p := range [3]*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
			if p != nil {
				ps.next[k] = cur.StartedAt.Add(time.Duration(p.InitialDelaySeconds) * time.Second)
			}
		}
		pw.probes[c.Name] = ps
	}
	var next time.Time
	for k, p := range [3]*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
		if p == nil || (k != kindStartup && !ps.started) || (k == kindStartup && ps.started) {
			continue
		}
		if !now.Before(ps.next[k]) {
			err := pw.runProbe(ctx, pod, c, cur, p)
			period := time.Duration(max(p.PeriodSeconds, 1)) * time.Second
			ps.next[k] = now.Add(period)
			if err == nil {
				ps.successes[k]++
				ps.failures[k] = 0
			} else {
				ps.failures[k]++
				ps.successes[k] = 0
				pw.event(pod, corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("%s probe failed: %v", kindNames[k], err))
			}
			success, failure := max(p.SuccessThreshold, 1), max(p.FailureThreshold, 1)
			switch k {
			case kindStartup:
				if ps.successes[k] >= 1 {
					ps.started = true
				} else if ps.failures[k] >= failure {
					pw.killForProbe(ctx, pod, c, cur, p, "failed startup probe")
					return time.Time{}
				}
			case kindLiveness:
				if ps.failures[k] >= failure {
					pw.killForProbe(ctx, pod, c, cur, p, "failed liveness probe, will be restarted")
					return time.Time{}
				}
			case kindReadiness:
				if ps.successes[k] >= success {
					ps.ready = true
				} else if ps.failures[k] >= failure {
					ps.ready = false
				}
			}
		}
		if next.IsZero() || ps.next[k].Before(next) {
			next = ps.next[k]
		}
	}
	return next
}

// killForProbe stops a container a probe gave up on, with the probe's
// terminationGracePeriodSeconds or the pod's.
func (pw *podWorker) killForProbe(ctx context.Context, pod *corev1.Pod, c *corev1.Container, cur ContainerStatus, p *corev1.Probe, why string) {
	grace := podGrace(pod)
	if p.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*p.TerminationGracePeriodSeconds) * time.Second
	}
	pw.kill(ctx, pod, cur, grace, "Container "+c.Name+" "+why)
	delete(pw.probes, c.Name)
}

func podGrace(pod *corev1.Pod) time.Duration {
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// runProbe runs one probe attempt within its timeoutSeconds.
func (pw *podWorker) runProbe(ctx context.Context, pod *corev1.Pod, c *corev1.Container, cur ContainerStatus, p *corev1.Probe) error {
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return pw.runHandler(ctx, pod, cur, &corev1.LifecycleHandler{Exec: p.Exec, HTTPGet: p.HTTPGet, TCPSocket: p.TCPSocket})
}

// runHandler runs an exec, HTTP GET or TCP check against the container,
// as probes and lifecycle hooks do, until ctx ends.
func (pw *podWorker) runHandler(ctx context.Context, pod *corev1.Pod, cur ContainerStatus, h *corev1.LifecycleHandler) error {
	c := findContainer(pod, cur.Name)
	host := ""
	if pw.sandbox != nil {
		host = pw.sandbox.IP
	}
	switch {
	case h.Exec != nil:
		code, err := pw.m.w.rt.Exec(ctx, cur.ID, ExecRequest{Cmd: h.Exec.Command, Stdout: io.Discard, Stderr: io.Discard})
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("command %q exited with %d", h.Exec.Command, code)
		}
		return nil
	case h.HTTPGet != nil:
		g := h.HTTPGet
		if g.Host != "" {
			host = g.Host
		}
		port, err := resolvePort(g.Port, c)
		if err != nil {
			return err
		}
		scheme := "http"
		if g.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)), g.Path), nil)
		if err != nil {
			return err
		}
		for _, hd := range g.HTTPHeaders {
			req.Header.Add(hd.Name, hd.Value)
		}
		req.Header.Set("User-Agent", "kube-probe/1.37")
		resp, err := pw.m.w.probeHTTP.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
		}
		return nil
	case h.TCPSocket != nil:
		if h.TCPSocket.Host != "" {
			host = h.TCPSocket.Host
		}
		port, err := resolvePort(h.TCPSocket.Port, c)
		if err != nil {
			return err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return conn.Close()
	}
	return fmt.Errorf("handler has no action")
}

// newProbeClient returns the client HTTP probes share: it keeps no
// connections and skips TLS verification, as kubelet's probes do.
func newProbeClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

// resolvePort turns a probe's port (number or named container port) into
// a number.
func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	if c != nil {
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				return int(cp.ContainerPort), nil
			}
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("no port named %q", p.StrVal)
}
