package ui

import (
	"encoding/json"
	"testing"
)

// FuzzSplitDocuments feeds arbitrary manifests to the parser behind
// POST /ui/apply: it never panics, and every document it returns is JSON.
func FuzzSplitDocuments(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Secret\n"))
	f.Add([]byte(`{"apiVersion":"v1","kind":"ConfigMap"}`))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("a: [1, 2\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		docs, err := splitDocuments(in)
		if err != nil {
			return
		}
		for i, d := range docs {
			if !json.Valid(d) {
				t.Fatalf("document %d is not JSON: %q", i, d)
			}
		}
	})
}
