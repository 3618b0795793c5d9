package testcluster_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/apiserver/podsecurity"
	"github.com/skiffhq/skiff/testcluster"
)

// TestKubePodSecurity checks that the API server enforces the Pod Security
// level of each pod's namespace: baseline in default, which has no label,
// and whatever the enforce label says elsewhere.
func TestKubePodSecurity(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Servers: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kc := kubeClient(t, c, 0)
	if err := c.WaitFor(ctx, func() bool {
		_, err := kc.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	}); err != nil {
		t.Fatalf("default namespace: %v", err)
	}
	for _, l := range []podsecurity.Level{podsecurity.LevelRestricted, podsecurity.LevelPrivileged} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name:   "psa-" + string(l),
			Labels: map[string]string{podsecurity.LabelEnforce: string(l)},
		}}
		if _, err := kc.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create namespace %s: %v", ns.Name, err)
		}
	}

	plain := func() corev1.PodSpec {
		return corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}
	}
	privileged := func() corev1.PodSpec {
		s := plain()
		s.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: new(true)}
		return s
	}
	hostNetwork := func() corev1.PodSpec {
		s := plain()
		s.HostNetwork = true
		return s
	}
	compliant := func() corev1.PodSpec {
		s := plain()
		s.SecurityContext = &corev1.PodSecurityContext{
			RunAsNonRoot:   new(true),
			RunAsUser:      new(int64(1000)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}
		s.Containers[0].SecurityContext = &corev1.SecurityContext{
			AllowPrivilegeEscalation: new(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
		return s
	}
	root := func() corev1.PodSpec {
		s := compliant()
		s.Containers[0].SecurityContext.RunAsUser = new(int64(0))
		return s
	}

	for _, tc := range []struct {
		ns, name string
		spec     corev1.PodSpec
		refusal  string // what follows `pods "name" is forbidden: `; "" if the pod is admitted
	}{
		{"default", "privileged", privileged(), `violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)`},
		{"default", "host-network", hostNetwork(), `violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)`},
		{"default", "plain", plain(), ""},
		{"psa-restricted", "plain", plain(), `violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`},
		{"psa-restricted", "root", root(), `violates PodSecurity "restricted:latest": runAsUser=0 (container "app" must not set runAsUser=0)`},
		{"psa-restricted", "compliant", compliant(), ""},
		{"psa-privileged", "privileged", privileged(), ""},
		{"psa-privileged", "host-network", hostNetwork(), ""},
	} {
		t.Run(tc.ns+"/"+tc.name, func(t *testing.T) {
			pods := kc.CoreV1().Pods(tc.ns)
			_, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: tc.name}, Spec: tc.spec}, metav1.CreateOptions{})
			if tc.refusal == "" {
				if err != nil {
					t.Fatalf("create: %v", err)
				}
				return
			}
			// kube-apiserver's answer: 403 Forbidden naming the pod, with
			// every violated control in the message.
			if !apierrors.IsForbidden(err) {
				t.Fatalf("create: %v, want 403 Forbidden", err)
			}
			if want := `pods "` + tc.name + `" is forbidden: ` + tc.refusal; err.Error() != want {
				t.Fatalf("create:\n got %v\nwant %s", err, want)
			}
			if _, err := pods.Get(ctx, tc.name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("refused pod: get gives %v, want 404", err)
			}
		})
	}
}
