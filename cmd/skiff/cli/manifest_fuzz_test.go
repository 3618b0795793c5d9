package cli

import (
	"bytes"
	"testing"

	"k8s.io/cli-runtime/pkg/resource"
)

// FuzzManifests feeds arbitrary bytes to the manifest path of apply, get
// and delete (cli-runtime's builder over a stream, multi-document YAML or
// JSON): it must return objects or an error, never panic or hang.
func FuzzManifests(f *testing.F) {
	f.Add([]byte(demoManifests))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}]}`))
	f.Add([]byte("---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x]}\n"))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: [1\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		infos, err := resource.NewLocalBuilder().Unstructured().Stream(bytes.NewReader(b), "fuzz").Flatten().Do().Infos()
		if err == nil {
			for _, info := range infos {
				if info.Object == nil {
					t.Fatalf("an info without an object from %q", b)
				}
			}
		}
	})
}
