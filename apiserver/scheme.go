package apiserver

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// newScheme registers the API types Skiff serves.
func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv1.AddToScheme,
		coordinationv1.AddToScheme, discoveryv1.AddToScheme, policyv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	// Table, PartialObjectMetadata and their lists live in meta.k8s.io.
	metaGV := schema.GroupVersion{Group: "meta.k8s.io", Version: "v1"}
	s.AddKnownTypes(metaGV, &metav1.Table{}, &metav1.TableOptions{}, &metav1.PartialObjectMetadata{}, &metav1.PartialObjectMetadataList{})
	metav1.AddToGroupVersion(s, metaGV)
	return s
}

var (
	scheme = newScheme()
	codecs = serializer.NewCodecFactory(scheme, serializer.EnableStrict)
)
