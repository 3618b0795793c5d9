package worker_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestWorkerOnCluster runs a worker against three real servers and a
// private containerd, and walks a pod's life through it. The subtests
// share the cluster and run in order.
func TestWorkerOnCluster(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	t.Run("node registered and ready with a fresh lease", func(t *testing.T) {
		e.waitFor(t, "node Ready with containerd version", 20*time.Second, func() bool {
			n, err := e.admin.CoreV1().Nodes().Get(ctx, "w1", metav1.GetOptions{})
			if err != nil {
				return false
			}
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					return strings.HasPrefix(n.Status.NodeInfo.ContainerRuntimeVersion, "containerd://")
				}
			}
			return false
		})
		n, _ := e.admin.CoreV1().Nodes().Get(ctx, "w1", metav1.GetOptions{})
		if n.Labels[corev1.LabelHostname] != "w1" {
			t.Errorf("hostname label %q", n.Labels[corev1.LabelHostname])
		}
		if q := n.Status.Allocatable[corev1.ResourcePods]; q.Value() != 110 {
			t.Errorf("allocatable pods %v, want 110", q.String())
		}
		cpuCap, cpuAlloc := n.Status.Capacity[corev1.ResourceCPU], n.Status.Allocatable[corev1.ResourceCPU]
		if cpuCap.MilliValue()-cpuAlloc.MilliValue() != 100 {
			t.Errorf("capacity %s, allocatable %s: want 100m reserved", cpuCap.String(), cpuAlloc.String())
		}
		var first *coordv1.Lease
		e.waitFor(t, "lease renewed", 10*time.Second, func() bool {
			l, err := e.admin.CoordinationV1().Leases("kube-node-lease").Get(ctx, "w1", metav1.GetOptions{})
			if err != nil || l.Spec.RenewTime == nil {
				return false
			}
			if first == nil {
				first = l
				return false
			}
			return l.Spec.RenewTime.After(first.Spec.RenewTime.Time)
		})
	})

	t.Run("pod starts, serves HTTP on its IP, gets a Secret env var", func(t *testing.T) {
		_, err := e.admin.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"password": []byte("s3cret")},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e.createPod(t, "web", nil,
			corev1.EnvVar{Name: "PORT", Value: "8080"},
			corev1.EnvVar{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
			corev1.EnvVar{Name: "MY_POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		)
		var p *corev1.Pod
		e.waitFor(t, "pod web Running and Ready", 60*time.Second, func() bool {
			p = e.pod("web")
			return running(p) && podReady(p)
		})
		if !strings.HasPrefix(p.Status.PodIP, strings.TrimSuffix(e.podCIDR, "0/24")) || p.Status.HostIP == "" || p.Status.StartTime == nil {
			t.Errorf("status podIP %q hostIP %q startTime %v", p.Status.PodIP, p.Status.HostIP, p.Status.StartTime)
		}
		cs := p.Status.ContainerStatuses[0]
		if !strings.HasPrefix(cs.ContainerID, "containerd://") || cs.ImageID == "" || cs.RestartCount != 0 {
			t.Errorf("container status %+v", cs)
		}
		base := "http://" + p.Status.PodIP + ":8080"
		e.waitFor(t, "HTTP answer", 10*time.Second, func() bool {
			code, body, err := get(base + "/")
			return err == nil && code == 200 && body == "hello from web"
		})
		for name, want := range map[string]string{"PASSWORD": "s3cret", "MY_POD": "web"} {
			if _, body, err := get(base + "/env/" + name); err != nil || body != want {
				t.Errorf("env %s = %q (%v), want %q", name, body, err, want)
			}
		}
	})

	t.Run("deleted pod stops gracefully and is confirmed gone", func(t *testing.T) {
		before := containerdIDs(t, e)
		if len(before) == 0 {
			t.Fatal("no containers in containerd before the delete")
		}
		deletePod(t, e, "web")
		e.waitFor(t, "containers removed", 20*time.Second, func() bool { return len(containerdIDs(t, e)) == 0 })
	})

	t.Run("crash loop backs off", func(t *testing.T) {
		e.createPod(t, "crash", nil, corev1.EnvVar{Name: "EXIT_AFTER", Value: "50ms"}, corev1.EnvVar{Name: "EXIT_CODE", Value: "3"})
		var p *corev1.Pod
		e.waitFor(t, "CrashLoopBackOff after a restart", 60*time.Second, func() bool {
			p = e.pod("crash")
			if p == nil || len(p.Status.ContainerStatuses) == 0 {
				return false
			}
			cs := p.Status.ContainerStatuses[0]
			return cs.RestartCount >= 1 && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff"
		})
		cs := p.Status.ContainerStatuses[0]
		if lt := cs.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 3 || lt.Reason != "Error" {
			t.Errorf("lastState %+v, want terminated with exit code 3", cs.LastTerminationState)
		}
		// The second restart waits the 10s back-off: the count stays put
		// for a while, then moves.
		n := cs.RestartCount
		start := time.Now()
		e.waitFor(t, "the next restart", 40*time.Second, func() bool {
			p = e.pod("crash")
			return p.Status.ContainerStatuses[0].RestartCount > n
		})
		t.Logf("restart %d came %v after restart %d was seen in back-off", n+1, time.Since(start).Round(100*time.Millisecond), n)
		deletePod(t, e, "crash")
	})

	t.Run("liveness probe failure restarts the container", func(t *testing.T) {
		e.createPod(t, "sick", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{
				ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
				PeriodSeconds:    1,
				FailureThreshold: 2,
			}
		}, corev1.EnvVar{Name: "PORT", Value: "8080"}, corev1.EnvVar{Name: "HEALTHY_FOR", Value: "2s"})
		e.waitFor(t, "a liveness restart", 60*time.Second, func() bool {
			p := e.pod("sick")
			return p != nil && len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount >= 1
		})
		deletePod(t, e, "sick")
	})

	t.Run("readiness gates Ready", func(t *testing.T) {
		e.createPod(t, "slow", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}},
				PeriodSeconds: 1,
			}
		}, corev1.EnvVar{Name: "PORT", Value: "8080"}, corev1.EnvVar{Name: "READY_AFTER", Value: "6s"})
		e.waitFor(t, "running but not ready", 30*time.Second, func() bool {
			p := e.pod("slow")
			return running(p) && !podReady(p)
		})
		e.waitFor(t, "ready", 30*time.Second, func() bool { return podReady(e.pod("slow")) })
		// Each failed probe is the same event counted up, not an object
		// of its own per failure.
		var objects, total int32
		e.waitFor(t, "the failed probes' events", 10*time.Second, func() bool {
			evs, err := e.admin.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=slow,reason=Unhealthy"})
			if err != nil {
				return false
			}
			objects, total = int32(len(evs.Items)), 0
			for _, ev := range evs.Items {
				total += ev.Count
			}
			return total > objects
		})
		t.Logf("%d failed readiness probes recorded as %d events", total, objects)
	})

	t.Run("worker restart adopts running containers", func(t *testing.T) {
		e.waitFor(t, "slow running", 30*time.Second, func() bool { return running(e.pod("slow")) })
		before := e.pod("slow").Status.ContainerStatuses[0]
		e.createPod(t, "doomed", nil, corev1.EnvVar{Name: "PORT", Value: "8080"})
		e.waitFor(t, "doomed running", 30*time.Second, func() bool { return running(e.pod("doomed")) })
		e.stopWorker()
		// Deleted while the worker is down: nobody confirms, so force it.
		zero := int64(0)
		if err := e.admin.CoreV1().Pods("default").Delete(ctx, "doomed", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatal(err)
		}
		e.startWorker(t)
		e.waitFor(t, "the deleted pod's container removed", 30*time.Second, func() bool { return !containerdIDs(t, e)["doomed"] })
		p := e.pod("slow")
		after := p.Status.ContainerStatuses[0]
		if after.ContainerID != before.ContainerID || after.RestartCount != 0 || !running(p) {
			t.Errorf("after a worker restart: %+v, want the same container %s still running", after, before.ContainerID)
		}
		if code, _, err := get("http://" + p.Status.PodIP + ":8080/"); err != nil || code != 200 {
			t.Errorf("adopted pod answers %d, %v", code, err)
		}
	})

	t.Run("containerd restart", func(t *testing.T) {
		e.waitFor(t, "slow running", 30*time.Second, func() bool { return running(e.pod("slow")) })
		before := e.pod("slow").Status.ContainerStatuses[0]
		e.d.Restart(t)
		e.createPod(t, "after", nil, corev1.EnvVar{Name: "PORT", Value: "8080"})
		e.waitFor(t, "a new pod running after containerd came back", 60*time.Second, func() bool { return running(e.pod("after")) })
		p := e.pod("slow")
		if code, _, err := get("http://" + p.Status.PodIP + ":8080/"); err != nil || code != 200 {
			t.Errorf("pod from before the containerd restart answers %d, %v", code, err)
		}
		if after := p.Status.ContainerStatuses[0]; after.ContainerID != before.ContainerID || after.RestartCount != 0 {
			t.Errorf("containerd restart restarted the container: before %s, after %s (restarts %d)", before.ContainerID, after.ContainerID, after.RestartCount)
		}
	})

	t.Run("hostPath, downwardAPI and projected volumes, resourceFieldRef env", func(t *testing.T) {
		// hostPath needs the privileged Pod Security level, which the
		// namespace must grant (Skiff enforces baseline by default).
		setEnforce := func(level string) {
			t.Helper()
			patch := `{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":` + level + `}}}`
			ns, err := e.admin.CoreV1().Namespaces().Patch(ctx, "default", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Admission reads namespace labels from the server's own
			// replica; a read at the patch's resourceVersion waits until
			// that replica has applied it.
			if _, err := e.admin.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{ResourceVersion: ns.ResourceVersion}); err != nil {
				t.Fatal(err)
			}
		}
		setEnforce(`"privileged"`)
		t.Cleanup(func() { setEnforce("null") })
		host := t.TempDir()
		if err := os.WriteFile(filepath.Join(host, "greeting"), []byte("from the host"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := e.admin.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"mode": "fast"},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.createPod(t, "vols", func(p *corev1.Pod) {
			p.Labels = map[string]string{"app": "vols"}
			c := &p.Spec.Containers[0]
			c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
			c.Env = append(c.Env, corev1.EnvVar{Name: "MEM_MI", ValueFrom: &corev1.EnvVarSource{
				ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}})
			p.Spec.Volumes = []corev1.Volume{
				{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: host}}},
				{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
				{Name: "all", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
						{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
				}}}},
			}
			c.VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/host"}, {Name: "info", MountPath: "/info"}, {Name: "all", MountPath: "/all"}}
		}, corev1.EnvVar{Name: "PORT", Value: "8080"})
		var p *corev1.Pod
		e.waitFor(t, "pod vols Running", 60*time.Second, func() bool {
			p = e.pod("vols")
			return running(p)
		})
		base := "http://" + p.Status.PodIP + ":8080"
		e.waitFor(t, "HTTP answer", 10*time.Second, func() bool {
			code, _, err := get(base + "/")
			return err == nil && code == 200
		})
		for path, want := range map[string]string{
			"/file?path=/host/greeting": "from the host",
			"/file?path=/info/labels":   `app="vols"`,
			"/file?path=/all/mode":      "fast",
			"/file?path=/all/ns":        "default",
			"/env/MEM_MI":               "64",
		} {
			if _, body, err := get(base + path); err != nil || body != want {
				t.Errorf("%s = %q (%v), want %q", path, body, err, want)
			}
		}
		deletePod(t, e, "vols")
	})
}
