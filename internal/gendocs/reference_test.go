package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/skiffhq/skiff/config"
)

// repoRoot is the repository root seen from this package's directory,
// where go test runs.
const repoRoot = "../.."

// TestReferenceIsCurrent fails when docs/config-reference.md differs from
// what the key tables in config/ generate, and says how to fix it.
func TestReferenceIsCurrent(t *testing.T) {
	path := filepath.Join(repoRoot, "docs", "config-reference.md")
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run `%s` to write it", err, regenerate)
	}
	want := Reference()
	if bytes.Equal(have, want) {
		return
	}
	hl, wl := strings.Split(string(have), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(hl), len(wl)); i++ {
		var h, w string
		if i < len(hl) {
			h = hl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if h != w {
			t.Fatalf("docs/config-reference.md is stale: run `%s` (go run ./internal/gendocs -o docs/config-reference.md) and commit it.\n"+
				"first difference at line %d:\n  file:      %q\n  generated: %q", regenerate, i+1, h, w)
		}
	}
}

// TestReferenceListsEveryKey checks the generated text itself: one row per
// key with its variable and flag, and no HTML-looking text that Markdown
// would swallow.
func TestReferenceListsEveryKey(t *testing.T) {
	doc := string(Reference())
	for _, group := range []struct {
		name string
		keys []config.Key
	}{{"server", config.ServerKeys()}, {"worker", config.WorkerKeys()}} {
		for _, k := range group.keys {
			row := regexp.MustCompile("(?m)^\\| <a id=\"" + regexp.QuoteMeta(anchor(group.name, k.Name)) + "\"></a>`" +
				regexp.QuoteMeta(k.Name) + "` \\|.*`" + regexp.QuoteMeta(k.Env) + "` \\| `" + regexp.QuoteMeta(k.Flag) + "` \\|")
			if !row.MatchString(doc) {
				t.Errorf("%s key %s: no row with %s and %s", group.name, k.Name, k.Env, k.Flag)
			}
		}
	}
	if m := regexp.MustCompile(`<(name|data_dir)>`).FindString(doc); m != "" {
		t.Errorf("reference holds %s, which Markdown renders as an HTML tag", m)
	}
}

// TestExamplesMentionEveryKey keeps examples/server.yaml and
// examples/worker.yaml, which the reference and the README point to for
// every key, complete: each key (its last segment inside a section) must
// appear, set or commented out.
func TestExamplesMentionEveryKey(t *testing.T) {
	for _, ex := range []struct {
		file string
		keys []config.Key
	}{{"server.yaml", config.ServerKeys()}, {"worker.yaml", config.WorkerKeys()}} {
		b, err := os.ReadFile(filepath.Join(repoRoot, "examples", ex.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ex.keys {
			leaf := k.Name[strings.LastIndex(k.Name, ".")+1:]
			if !regexp.MustCompile(`(?m)(^|[\s{,#])` + regexp.QuoteMeta(leaf) + `:`).Match(b) {
				t.Errorf("examples/%s does not mention %s", ex.file, k.Name)
			}
		}
	}
}

func TestRunWritesOnlyChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ref.md")
	if err := run([]string{"-o", path}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, Reference()) {
		t.Fatalf("written file differs from Reference (err %v)", err)
	}
	// Up to date: the file is not rewritten, so make and editors see no
	// change. An old modification time shows whether it was.
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-o", path}, nil); err != nil {
		t.Fatalf("second run over an up-to-date file: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(old) {
		t.Fatalf("an up-to-date file was rewritten (stat err %v)", err)
	}
	var out bytes.Buffer
	if err := run(nil, &out); err != nil || !bytes.Equal(out.Bytes(), Reference()) {
		t.Fatalf("stdout run: err %v, %d bytes", err, out.Len())
	}
	if err := run([]string{"extra"}, &out); err == nil {
		t.Fatal("an argument was accepted")
	}
}
