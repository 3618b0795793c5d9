package ownership

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

func TestDecide(t *testing.T) {
	now := metav1.Now()
	gvk := appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	owner := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", UID: "u1"}}
	deleting := owner.DeepCopy()
	deleting.DeletionTimestamp = &now
	other := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "other", UID: "u2"}}
	sel := labels.SelectorFromSet(labels.Set{"app": "a"})
	pod := func(lbl string, ctrl metav1.Object, gone bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"app": lbl}}}
		if ctrl != nil {
			p.OwnerReferences = []metav1.OwnerReference{Ref(ctrl, gvk)}
		}
		if gone {
			p.DeletionTimestamp = &now
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		owner metav1.Object
		obj   metav1.Object
		want  Action
	}{
		{"own and matching", owner, pod("a", owner, false), Keep},
		{"own, no longer matching", owner, pod("b", owner, false), Release},
		{"own, not matching, owner deleting", deleting, pod("b", owner, false), Keep},
		{"orphan matching", owner, pod("a", nil, false), Adopt},
		{"orphan matching but deleting", owner, pod("a", nil, true), Ignore},
		{"orphan matching, owner deleting", deleting, pod("a", nil, false), Ignore},
		{"orphan not matching", owner, pod("b", nil, false), Ignore},
		{"another controller's", owner, pod("a", other, false), Ignore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(tc.owner, sel, tc.obj); got != tc.want {
				t.Errorf("Decide = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPatches(t *testing.T) {
	gvk := appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	owner := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", UID: "u1"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "pu", ResourceVersion: "7",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "c", UID: "cu"}}}}
	b, err := AdoptPatch(owner, gvk, pod)
	if err != nil {
		t.Fatal(err)
	}
	var p metaPatch
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Metadata.UID != "pu" || p.Metadata.ResourceVersion != "7" || len(p.Metadata.OwnerReferences) != 2 {
		t.Fatalf("adopt patch %s", b)
	}
	if r := p.Metadata.OwnerReferences[1]; r.UID != types.UID("u1") || r.Controller == nil || !*r.Controller || r.BlockOwnerDeletion == nil || !*r.BlockOwnerDeletion {
		t.Fatalf("adopt ref %+v", r)
	}
	pod.OwnerReferences = p.Metadata.OwnerReferences
	b, err = ReleasePatch(owner, pod)
	if err != nil {
		t.Fatal(err)
	}
	p = metaPatch{}
	_ = json.Unmarshal(b, &p)
	if len(p.Metadata.OwnerReferences) != 1 || p.Metadata.OwnerReferences[0].UID != "cu" {
		t.Fatalf("release patch %s", b)
	}
}
