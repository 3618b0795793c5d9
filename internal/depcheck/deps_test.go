package depcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportRules checks the rules against the packages in the tree.
func TestImportRules(t *testing.T) {
	g := loadGraph(t)
	if len(g.ownPackages()) == 0 {
		t.Fatal("go list found no packages of this module")
	}
	for _, r := range rules() {
		t.Run(r.name, func(t *testing.T) {
			for _, v := range r.check(g) {
				t.Errorf("%s: %s", r.name, v)
			}
		})
	}
}

// loadGraph runs `go list -deps -json ./...` at the module root.
func loadGraph(t *testing.T) graph {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	gomod, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-e", "-deps",
		"-json=ImportPath,Standard,DepOnly,Imports,Deps,TestImports,XTestImports", "./...")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	g := graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		g[p.ImportPath] = p
	}
	return g
}

// TestRulesCatchViolations checks each rule against small made-up graphs,
// so a rule that silently stopped matching would be noticed.
func TestRulesCatchViolations(t *testing.T) {
	m := module + "/"
	tests := []struct {
		name    string
		imports map[string][]string
		want    []string // substrings of the violations, in order; none means clean
	}{
		{"clean tree", map[string][]string{
			m + "config":            {viper, "os"},
			m + "fsm":               {raft, btree, "sync", m + "fsm/internal/kv"},
			m + "fsm/internal/kv":   {"bytes"},
			m + "fsm/raftstore":     {m + "fsm", raftBolt + "/v2"},
			raftBolt + "/v2":        {bbolt},
			raft:                    {"github.com/hashicorp/go-hclog"},
			m + "apiserver":         {m + "fsm", "net/http"},
			m + "scheduler":         {"k8s.io/client-go"},
			m + "gossip":            {memberlist},
			m + "cmd/skiff/cli":     {m + "config", m + "fsm/raftstore", m + "gossip", m + "internal/ociimage"},
			m + "internal/ociimage": {"github.com/containerd/containerd"},
		}, nil},
		{"viper outside config", map[string][]string{m + "server": {viper + "/internal"}},
			[]string{"server imports github.com/spf13/viper/internal"}},
		{"scheduler reaches fsm", map[string][]string{
			m + "scheduler/loop": {m + "internal/glue"},
			m + "internal/glue":  {m + "fsm/raftstore"},
			m + "fsm/raftstore":  {m + "fsm"},
		}, []string{"scheduler/loop → " + m + "internal/glue → " + m + "fsm/raftstore"}},
		{"controller imports the server", map[string][]string{m + "controller/deployment": {m + "server"}}, []string{"controller/deployment → " + m + "server"}},
		{"node lifecycle imports gossip", map[string][]string{m + "controller/nodelifecycle": {m + "gossip"}, m + "gossip": {memberlist}},
			[]string{"controller/nodelifecycle → " + m + "gossip"}},
		{"cluster DNS imports the apiserver", map[string][]string{m + "clusterdns": {m + "apiserver/auth"}}, []string{"clusterdns → " + m + "apiserver/auth"}},
		{"worker imports fsm", map[string][]string{m + "worker": {m + "fsm"}}, []string{"worker → " + m + "fsm"}},
		{"fsm imports the clock package of another module", map[string][]string{
			m + "fsm": {"github.com/benbjohnson/clock", raft + "/extra"},
		}, []string{"fsm imports github.com/benbjohnson/clock"}},
		{"fsm core package imports memberlist", map[string][]string{
			m + "fsm":    {m + "fsm/kv"},
			m + "fsm/kv": {memberlist},
		}, []string{"fsm/kv imports " + memberlist}},
		{"fsm imports raft-boltdb", map[string][]string{m + "fsm": {raftBolt + "/v2"}}, []string{"fsm imports " + raftBolt}},
		{"apiserver imports raft", map[string][]string{m + "apiserver/watch": {raft}}, []string{"apiserver/watch imports " + raft}},
		{"apiserver reaches bbolt", map[string][]string{
			m + "apiserver":     {m + "fsm/raftstore"},
			m + "fsm/raftstore": {raftBolt + "/v2"},
			raftBolt + "/v2":    {bbolt},
		}, []string{"apiserver → " + m + "fsm/raftstore → " + raftBolt + "/v2"}},
		{"ociimage reaches the apiserver", map[string][]string{
			m + "internal/ociimage": {m + "server"},
			m + "server":            {m + "apiserver"},
		}, []string{"internal/ociimage → " + m + "server"}},
		{"gossip reaches config", map[string][]string{
			m + "gossip":  {m + "netutil"},
			m + "netutil": {m + "config"},
		}, []string{"gossip → " + m + "netutil → " + m + "config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range rules() {
				got = append(got, r.check(makeGraph(tt.imports))...)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("violations %q, want %d matching %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %q does not contain %q", got[i], w)
				}
			}
		})
	}
}

// makeGraph builds a graph from direct imports, filling in Deps and
// Standard as go list would.
func makeGraph(imports map[string][]string) graph {
	g := graph{}
	var deps func(p string, seen map[string]bool)
	deps = func(p string, seen map[string]bool) {
		for _, imp := range imports[p] {
			if !seen[imp] {
				seen[imp] = true
				deps(imp, seen)
			}
		}
	}
	for p, imps := range imports {
		seen := map[string]bool{}
		deps(p, seen)
		var d []string
		for s := range seen {
			d = append(d, s)
		}
		g[p] = pkg{ImportPath: p, Imports: imps, Deps: d, Standard: !strings.Contains(strings.Split(p, "/")[0], ".")}
	}
	return g
}
