package apiserver

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiffhq/skiff/fsm"
)

// SystemNamespaces exist in every cluster, as in Kubernetes.
var SystemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// SystemNamespacesExist reports whether the local replica has every
// system namespace.
func SystemNamespacesExist(st *fsm.Store) bool {
	res := lookup("", "v1", "namespaces")
	for _, name := range SystemNamespaces {
		if _, ok, _ := st.Get(res.Key("", name)); !ok {
			return false
		}
	}
	return true
}

// EnsureSystemNamespaces creates the system namespaces that do not exist
// yet. The leader calls it after every election; it is idempotent.
func EnsureSystemNamespaces(ctx context.Context, s Store, now metav1.Time) error {
	res := lookup("", "v1", "namespaces")
	for _, name := range SystemNamespaces {
		if _, ok, _ := s.Store().Get(res.Key("", name)); ok {
			continue
		}
		ns := &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(newUID()), CreationTimestamp: now,
				Labels: map[string]string{corev1.LabelMetadataName: name}},
			Spec:   corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
			Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
		}
		value, err := encodeStored(ns)
		if err != nil {
			return err
		}
		res, err := s.Propose(ctx, &fsm.Command{Op: fsm.OpCreate, Key: lookup("", "v1", "namespaces").Key("", name), Value: value})
		if err != nil {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
		if res.Code != fsm.CodeOK && res.Code != fsm.CodeKeyExists {
			return fmt.Errorf("create namespace %s: %w", name, res.Err())
		}
	}
	return nil
}
