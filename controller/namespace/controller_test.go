package namespace

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestCollectionPath(t *testing.T) {
	for _, tc := range []struct {
		gvr  schema.GroupVersionResource
		want string
	}{
		{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "/api/v1/namespaces/team/pods"},
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "/apis/apps/v1/namespaces/team/deployments"},
		{schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}, "/apis/discovery.k8s.io/v1/namespaces/team/endpointslices"},
	} {
		if got := collectionPath("team", tc.gvr); got != tc.want {
			t.Errorf("collectionPath(%v) = %s, want %s", tc.gvr, got, tc.want)
		}
	}
}
