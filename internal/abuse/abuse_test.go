package abuse

import (
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// TestDeterministic checks that a seed determines the cases.
func TestDeterministic(t *testing.T) {
	a, b := New(7, Options{Validation: true}), New(7, Options{Validation: true})
	other := New(8, Options{Validation: true})
	differ := false
	for i := range 500 {
		ca, cb, co := a.Next(), b.Next(), other.Next()
		if ca.String() != cb.String() || !reflect.DeepEqual(ca.Want, cb.Want) || len(ca.Setup) != len(cb.Setup) ||
			string(ca.Request.Body.Head(4096)) != string(cb.Request.Body.Head(4096)) {
			t.Fatalf("case %d differs between two generators of one seed:\n%s\n%s", i, ca, cb)
		}
		differ = differ || ca.String() != co.String()
	}
	if !differ {
		t.Error("seeds 7 and 8 generated the same cases")
	}
}

// TestCases checks every generated case: all classes take turns, every
// wanted code is a 4xx, huge bodies are over the limit, and setups are
// writes.
func TestCases(t *testing.T) {
	for _, validation := range []bool{false, true} {
		g := New(1, Options{Validation: validation})
		counts := map[Class]int{}
		n := 50 * len(g.Classes())
		for range n {
			c := g.Next()
			counts[c.Class]++
			if len(c.Want) == 0 {
				t.Errorf("%s: no wanted codes", c)
			}
			for _, code := range c.Want {
				if code < 400 || code > 499 {
					t.Errorf("%s: wants %d", c, code)
				}
			}
			if c.Class == HugeBody && c.Request.Body.Len() <= MaxBodySize {
				t.Errorf("%s: body of %d bytes is not huge", c, c.Request.Body.Len())
			}
			if c.Class == MalformedJSON && json.Valid(c.Request.Body.Head(1<<20)) {
				t.Errorf("%s: body is valid JSON", c)
			}
			for _, s := range c.Setup {
				if s.Method != "POST" && s.Method != "PUT" {
					t.Errorf("%s: setup %s is not a write", c, s)
				}
			}
		}
		for _, cl := range g.Classes() {
			if counts[cl] != 50 {
				t.Errorf("validation=%v: class %s generated %d times in %d cases, want 50", validation, cl, counts[cl], n)
			}
		}
		if _, ok := counts[InvalidName]; ok != validation {
			t.Errorf("validation=%v: invalid-name generated: %v", validation, ok)
		}
	}
}

// TestTablesAreBad checks the tables of bad input against the parsers
// Kubernetes uses, so an entry that is accidentally good is noticed.
func TestTablesAreBad(t *testing.T) {
	for _, s := range badLabelSelectors {
		if _, err := labels.Parse(s); err == nil {
			t.Errorf("label selector %q parses", s)
		}
	}
	for _, s := range badFieldSelectors {
		if _, err := fields.ParseSelector(s); err == nil {
			t.Errorf("field selector %q parses", s)
		}
	}
	for _, s := range unsupportedFieldSelectors {
		if _, err := fields.ParseSelector(s); err != nil {
			t.Errorf("unsupported field selector %q does not parse: %v", s, err)
		}
	}
	for _, s := range brokenJSON {
		if json.Valid([]byte(s)) {
			t.Errorf("%q is valid JSON", s)
		}
	}
	for _, s := range brokenYAML {
		j, err := yaml.YAMLToJSON([]byte(s))
		if err == nil && strings.HasPrefix(string(j), "{") {
			t.Errorf("%q is a YAML object: %s", s, j)
		}
	}
}

func TestBody(t *testing.T) {
	b := String("head").Repeat([]byte("xy"), 5).Append([]byte("tail"))
	got, err := io.ReadAll(b.Reader())
	if err != nil {
		t.Fatal(err)
	}
	if want := "headxyxyxyxyxytail"; string(got) != want || b.Len() != int64(len(want)) {
		t.Errorf("body %q (Len %d), want %q", got, b.Len(), want)
	}
	if h := string(b.Head(6)); h != "headxy" {
		t.Errorf("Head(6) = %q", h)
	}
	// A huge body is generated as it is read.
	huge := String("{").Repeat([]byte("a"), 64<<20)
	n, err := io.Copy(io.Discard, huge.Reader())
	if err != nil || n != 64<<20+1 {
		t.Errorf("read %d bytes (%v) of a %d-byte body", n, err, huge.Len())
	}
}
