package testcluster_test

import (
	"context"
	"errors"
	"strings"
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
		field    string // the refused field; "" if the pod is admitted
	}{
		{"default", "privileged", privileged(), "spec.containers[0].securityContext.privileged"},
		{"default", "host-network", hostNetwork(), "spec.hostNetwork"},
		{"default", "plain", plain(), ""},
		{"psa-restricted", "plain", plain(), "spec.securityContext.runAsNonRoot"},
		{"psa-restricted", "root", root(), "spec.containers[0].securityContext.runAsUser"},
		{"psa-restricted", "compliant", compliant(), ""},
		{"psa-privileged", "privileged", privileged(), ""},
		{"psa-privileged", "host-network", hostNetwork(), ""},
	} {
		t.Run(tc.ns+"/"+tc.name, func(t *testing.T) {
			pods := kc.CoreV1().Pods(tc.ns)
			_, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: tc.name}, Spec: tc.spec}, metav1.CreateOptions{})
			if tc.field == "" {
				if err != nil {
					t.Fatalf("create: %v", err)
				}
				return
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("create: %v, want 422 Invalid", err)
			}
			if !hasCause(err, tc.field, "violates PodSecurity") {
				t.Fatalf("create: %v, want a cause at %s", err, tc.field)
			}
			if _, err := pods.Get(ctx, tc.name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("refused pod: get gives %v, want 404", err)
			}
		})
	}
}

// hasCause reports whether err is an API status naming field with a
// message containing msg.
func hasCause(err error, field, msg string) bool {
	var se apierrors.APIStatus
	if !errors.As(err, &se) || se.Status().Details == nil {
		return false
	}
	for _, c := range se.Status().Details.Causes {
		if c.Field == field && strings.Contains(c.Message, msg) {
			return true
		}
	}
	return false
}
