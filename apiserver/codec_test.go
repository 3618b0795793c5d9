package apiserver

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestWithResourceVersion(t *testing.T) {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "default", Labels: map[string]string{"x": `"metadata":{`}},
		Data:       map[string]string{"k": `{"metadata":{"resourceVersion":"1"}}`},
	}
	stored, err := encodeStored(cm)
	if err != nil {
		t.Fatal(err)
	}
	var got corev1.ConfigMap
	if err := json.Unmarshal(withResourceVersion(stored, 42), &got); err != nil {
		t.Fatalf("spliced JSON does not parse: %v", err)
	}
	if got.ResourceVersion != "42" || got.Name != "a" || got.Labels["x"] != `"metadata":{` || got.Data["k"] != cm.Data["k"] || got.Kind != "ConfigMap" {
		t.Fatalf("spliced object: %+v", got)
	}
}
