package apiserver

import (
	"fmt"
	"net/http"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// serveScale serves the scale subresource of deployments and replicasets:
// an autoscaling/v1 Scale over spec.replicas.
func (h *handler) serveScale() error {
	switch h.ri.Verb {
	case "get":
		if err := h.readRev(h.r.URL.Query().Get("resourceVersion")); err != nil {
			return err
		}
		obj, _, err := h.currentLocal()
		if err != nil {
			return err
		}
		h.api.writeObject(h.w, h.r, http.StatusOK, scaleOf(obj))
		return nil
	case "update", "patch":
	default:
		return apierrors.NewMethodNotSupported(h.res.GVR.GroupResource(), h.ri.Verb+" scale")
	}
	body, err := readBody(h.r)
	if err != nil {
		return err
	}
	// Scale changes spec, so it is validated like an update of the object.
	h.ri.Subresource = ""
	h.scale = true
	var precondition string
	var want *autoscalingv1.Scale
	if h.ri.Verb == "update" {
		want = &autoscalingv1.Scale{}
		def := autoscalingv1.SchemeGroupVersion.WithKind("Scale")
		obj, _, err := codecs.UniversalDeserializer().Decode(body, &def, want)
		if err != nil {
			return apierrors.NewBadRequest("decode Scale: " + err.Error())
		}
		if obj != want {
			// Ignoring a body of another kind would scale to zero.
			return apierrors.NewBadRequest(fmt.Sprintf("the body is a %T, not a Scale", obj))
		}
		precondition = want.ResourceVersion
	}
	out, err := h.updateObject(precondition, func(cur runtime.Object) (runtime.Object, error) {
		s := scaleOf(cur)
		if want != nil {
			s.Spec.Replicas = want.Spec.Replicas
		} else {
			patched, err := applyPatch(&Resource{GVR: autoscalingv1.SchemeGroupVersion.WithResource("scale"), Kind: "Scale"}, types.PatchType(h.r.Header.Get("Content-Type")), s, body)
			if err != nil {
				return nil, err
			}
			s = patched.(*autoscalingv1.Scale)
		}
		if s.Spec.Replicas < 0 {
			return nil, apierrors.NewBadRequest("spec.replicas must be non-negative")
		}
		setReplicas(cur, s.Spec.Replicas)
		return cur, nil
	})
	if err != nil {
		return err
	}
	h.api.writeObject(h.w, h.r, http.StatusOK, scaleOf(out))
	return nil
}

func scaleOf(obj runtime.Object) *autoscalingv1.Scale {
	m := metaOf(obj)
	s := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{
		Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
		ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp(),
	}}
	var sel *metav1.LabelSelector
	switch o := obj.(type) {
	case *appsv1.Deployment:
		s.Spec.Replicas, s.Status.Replicas, sel = replicas(o.Spec.Replicas), o.Status.Replicas, o.Spec.Selector
	case *appsv1.ReplicaSet:
		s.Spec.Replicas, s.Status.Replicas, sel = replicas(o.Spec.Replicas), o.Status.Replicas, o.Spec.Selector
	}
	if ls, err := metav1.LabelSelectorAsSelector(sel); err == nil && sel != nil {
		s.Status.Selector = ls.String()
	}
	return s
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func setReplicas(obj runtime.Object, n int32) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.Spec.Replicas = &n
	case *appsv1.ReplicaSet:
		o.Spec.Replicas = &n
	}
}

// bind serves POST pods/<name>/binding: it assigns the pod to a node, once.
func (h *handler) bind() error {
	body, err := readBody(h.r)
	if err != nil {
		return err
	}
	var b corev1.Binding
	def := corev1.SchemeGroupVersion.WithKind("Binding")
	obj, _, err := codecs.UniversalDeserializer().Decode(body, &def, &b)
	if err != nil {
		return apierrors.NewBadRequest("decode Binding: " + err.Error())
	}
	if obj != &b {
		return apierrors.NewBadRequest(fmt.Sprintf("the body is a %T, not a Binding", obj))
	}
	if b.Target.Name == "" || (b.Target.Kind != "" && b.Target.Kind != "Node") {
		return apierrors.NewBadRequest("binding target must be a Node with a name")
	}
	// The binding sets spec.nodeName and the PodScheduled condition.
	h.fullUpdate = true
	_, err = h.updateObject("", func(cur runtime.Object) (runtime.Object, error) {
		pod := cur.(*corev1.Pod)
		if pod.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(h.res.GVR.GroupResource(), pod.Name, errString("pod is being deleted, cannot be assigned to a host"))
		}
		if pod.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(h.res.GVR.GroupResource(), pod.Name, errString(fmt.Sprintf("pod %s is already assigned to node %q", pod.Name, pod.Spec.NodeName)))
		}
		pod.Spec.NodeName = b.Target.Name
		setPodCondition(pod, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(h.api.now().UTC().Truncate(1e9))})
		return pod, nil
	})
	if err != nil {
		return err
	}
	st := metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusCreated}
	h.api.writeObject(h.w, h.r, http.StatusCreated, &st)
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }

func setPodCondition(pod *corev1.Pod, c corev1.PodCondition) {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == c.Type {
			pod.Status.Conditions[i] = c
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}
