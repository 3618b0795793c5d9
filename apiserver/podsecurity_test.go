package apiserver_test

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/apiserver/apitest"
	"github.com/skiffhq/skiff/apiserver/podsecurity"
)

// TestPodSecurityAdmission checks how the handler answers a pod its
// namespace's Pod Security level refuses: kube-apiserver's 403 Forbidden
// status naming the pod, after validation's 422 for an invalid pod, and
// only for new pods and changed specs.
func TestPodSecurityAdmission(t *testing.T) {
	ps, err := podsecurity.New()
	if err != nil {
		t.Fatal(err)
	}
	ad := apitest.Admission()
	ad.PodSecurity = ps.Check
	srv := apitest.Serve(t, apiserver.Config{Store: apitest.NewLocalStore(), Admission: ad})
	kc := kubernetes.NewForConfigOrDie(&rest.Config{Host: srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods := kc.CoreV1().Pods("default")
	pod := func(name string, privileged bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "busybox"}},
		}}
		if privileged {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: new(true)}
		}
		return p
	}

	t.Run("refused with 403", func(t *testing.T) {
		_, err := pods.Create(ctx, pod("priv", true), metav1.CreateOptions{})
		var se apierrors.APIStatus
		if !errors.As(err, &se) {
			t.Fatalf("create: %v, want a status", err)
		}
		st := se.Status()
		want := `pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)`
		if st.Code != 403 || st.Reason != metav1.StatusReasonForbidden || st.Message != want {
			t.Errorf("create: %d %s %q, want 403 Forbidden %q", st.Code, st.Reason, st.Message, want)
		}
		if d := st.Details; d == nil || d.Kind != "pods" || d.Name != "priv" {
			t.Errorf("details %+v, want kind pods, name priv", d)
		}
	})

	t.Run("validation first", func(t *testing.T) {
		p := pod("bad", true)
		p.Spec.Containers[0].Image = ""
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
			t.Errorf("create: %v, want 422 Invalid", err)
		}
	})

	t.Run("only changed specs are judged", func(t *testing.T) {
		if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tight"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tight := kc.CoreV1().Pods("tight")
		if _, err := tight.Create(ctx, pod("old", false), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create at baseline: %v", err)
		}
		// The namespace tightens to restricted after the pod was admitted.
		label := []byte(`{"metadata":{"labels":{"` + podsecurity.LabelEnforce + `":"restricted"}}}`)
		if _, err := kc.CoreV1().Namespaces().Patch(ctx, "tight", types.MergePatchType, label, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := tight.Patch(ctx, "old", types.MergePatchType, []byte(`{"metadata":{"labels":{"a":"b"}}}`), metav1.PatchOptions{}); err != nil {
			t.Errorf("metadata-only update: %v, want it admitted", err)
		}
		_, err := tight.Patch(ctx, "old", types.StrategicMergePatchType, []byte(`{"spec":{"containers":[{"name":"app","image":"busybox:2"}]}}`), metav1.PatchOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("spec update: %v, want 403 Forbidden", err)
		}
	})
}
