package depcheck

import (
	"fmt"
	"slices"
	"strings"
)

const module = "github.com/skiffhq/skiff"

// pkg is the part of `go list -json` the rules read.
type pkg struct {
	ImportPath   string
	Standard     bool
	DepOnly      bool // not matched by the pattern, only a dependency
	Imports      []string
	Deps         []string // transitive, without tests
	TestImports  []string
	XTestImports []string
}

// graph is every package go list reported, by import path.
type graph map[string]pkg

// under reports whether path is root or inside it.
func under(path, root string) bool {
	return path == root || strings.HasPrefix(path, root+"/")
}

func underAny(path string, roots ...string) bool {
	return slices.ContainsFunc(roots, func(r string) bool { return under(path, r) })
}

// standard reports whether path is in the standard library.
func (g graph) standard(path string) bool {
	if p, ok := g[path]; ok {
		return p.Standard
	}
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// chain returns an import chain from one package to the first package
// matching target, for error messages; "" if there is none.
func (g graph) chain(from string, target func(string) bool) string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, imp := range g[cur].Imports {
			if _, seen := prev[imp]; seen {
				continue
			}
			prev[imp] = cur
			if target(imp) {
				path := []string{imp}
				for p := cur; p != ""; p = prev[p] {
					path = append(path, p)
				}
				slices.Reverse(path)
				return strings.Join(path, " → ")
			}
			queue = append(queue, imp)
		}
	}
	return ""
}

// rule is one import rule of DESIGN.md; check returns its violations.
type rule struct {
	name  string
	check func(g graph) []string
}

const (
	viper      = "github.com/spf13/viper"
	raft       = "github.com/hashicorp/raft"
	raftBolt   = "github.com/hashicorp/raft-boltdb"
	bolt       = "github.com/boltdb/bolt"
	bbolt      = "go.etcd.io/bbolt"
	memberlist = "github.com/hashicorp/memberlist"
	btree      = "github.com/google/btree"
)

// apiConsumers are the packages that may know the cluster only through
// the Kubernetes API.
var apiConsumers = []string{
	module + "/scheduler", module + "/controller", module + "/worker",
	module + "/netproxy", module + "/clusterdns",
}

// ownPackages returns the packages of this module, sorted.
func (g graph) ownPackages() []pkg {
	var out []pkg
	for _, p := range g {
		if !p.DepOnly && under(p.ImportPath, module) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b pkg) int { return strings.Compare(a.ImportPath, b.ImportPath) })
	return out
}

func rules() []rule {
	return []rule{
		{"only config imports viper", func(g graph) []string {
			var bad []string
			for _, p := range g.ownPackages() {
				if p.ImportPath == module+"/config" {
					continue
				}
				for _, imp := range slices.Concat(p.Imports, p.TestImports, p.XTestImports) {
					if under(imp, viper) {
						bad = append(bad, fmt.Sprintf("%s imports %s", p.ImportPath, imp))
					}
				}
			}
			return bad
		}},
		{"API consumers see the cluster only through the API", func(g graph) []string {
			// The scheduler, controllers, worker, netproxy and cluster DNS
			// are clients of the Kubernetes API, as their Kubernetes
			// counterparts are: never of the store, the API's internals
			// or the server that hosts them.
			var bad []string
			for _, p := range g.ownPackages() {
				if !underAny(p.ImportPath, apiConsumers...) {
					continue
				}
				internal := func(d string) bool {
					return underAny(d, module+"/fsm", module+"/apiserver", module+"/server")
				}
				if slices.ContainsFunc(p.Deps, internal) {
					bad = append(bad, g.chain(p.ImportPath, internal))
				}
			}
			return bad
		}},
		{"controllers and the scheduler never reach gossip", func(g graph) []string {
			// Node liveness reaches the node lifecycle controller through
			// its own Liveness interface, which the server implements over
			// its gossip agent; the leader-only components stay API
			// clients that could run anywhere.
			var bad []string
			for _, p := range g.ownPackages() {
				if !underAny(p.ImportPath, module+"/controller", module+"/scheduler") {
					continue
				}
				isGossip := func(d string) bool { return under(d, module+"/gossip") || under(d, memberlist) }
				if slices.ContainsFunc(p.Deps, isGossip) {
					bad = append(bad, g.chain(p.ImportPath, isGossip))
				}
			}
			return bad
		}},
		{"fsm imports only the standard library, raft and btree", func(g graph) []string {
			// fsm and the fsm packages it imports form its core; each may
			// import only these. Other fsm subpackages (raftstore) are free.
			var bad []string
			seen := map[string]bool{}
			queue := []string{module + "/fsm"}
			for len(queue) > 0 {
				cur := queue[0]
				queue = queue[1:]
				if seen[cur] {
					continue
				}
				seen[cur] = true
				for _, imp := range g[cur].Imports {
					switch {
					case under(imp, module+"/fsm"):
						queue = append(queue, imp)
					case g.standard(imp), under(imp, raft), under(imp, btree):
					default:
						bad = append(bad, fmt.Sprintf("%s imports %s", cur, imp))
					}
				}
			}
			return bad
		}},
		{"apiserver does not import raft, boltdb or memberlist", func(g graph) []string {
			var bad []string
			for _, p := range g.ownPackages() {
				if !under(p.ImportPath, module+"/apiserver") {
					continue
				}
				for _, imp := range p.Imports {
					if underAny(imp, raft, raftBolt, raftBolt+"/v2", bolt, bbolt, memberlist) {
						bad = append(bad, fmt.Sprintf("%s imports %s", p.ImportPath, imp))
					}
				}
				// Through fsm's types it may reach raft, never the storage.
				isStorage := func(d string) bool { return underAny(d, raftBolt, raftBolt+"/v2", bolt, bbolt) }
				if slices.ContainsFunc(p.Deps, isStorage) {
					bad = append(bad, g.chain(p.ImportPath, isStorage))
				}
			}
			return bad
		}},
		{"image and test-daemon packages never depend on the control plane", func(g graph) []string {
			// The worker imports ociimage, and the worker's and netproxy's
			// tests import the test daemons; reaching fsm, apiserver or
			// server through them would break the consumer rule above.
			var bad []string
			for _, p := range g.ownPackages() {
				if !underAny(p.ImportPath, module+"/internal/ociimage", module+"/internal/testcontainerd",
					module+"/internal/testimages", module+"/internal/testregistry") {
					continue
				}
				isControlPlane := func(d string) bool {
					return underAny(d, module+"/fsm", module+"/apiserver", module+"/server", module+"/testcluster")
				}
				if slices.ContainsFunc(p.Deps, isControlPlane) {
					bad = append(bad, g.chain(p.ImportPath, isControlPlane))
				}
			}
			return bad
		}},
		{"gossip does not depend on config", func(g graph) []string {
			var bad []string
			for _, p := range g.ownPackages() {
				if !under(p.ImportPath, module+"/gossip") {
					continue
				}
				isConfig := func(d string) bool { return under(d, module+"/config") }
				if slices.ContainsFunc(p.Deps, isConfig) {
					bad = append(bad, g.chain(p.ImportPath, isConfig))
				}
			}
			return bad
		}},
		{"the docs generator reads only config", func(g graph) []string {
			// internal/gendocs renders config's key tables; importing the
			// server or worker would let the reference describe code other
			// than the loader, and make `make docs` build the world.
			var bad []string
			for _, p := range g.ownPackages() {
				if !under(p.ImportPath, module+"/internal/gendocs") {
					continue
				}
				for _, imp := range slices.Concat(p.Imports, p.TestImports) {
					if !g.standard(imp) && !under(imp, module+"/config") {
						bad = append(bad, fmt.Sprintf("%s imports %s", p.ImportPath, imp))
					}
				}
			}
			return bad
		}},
		{"api imports only the standard library and apimachinery", func(g graph) []string {
			var bad []string
			for _, p := range g.ownPackages() {
				if !under(p.ImportPath, module+"/api") {
					continue
				}
				for _, imp := range p.Imports {
					if !g.standard(imp) && !under(imp, "k8s.io/apimachinery") && !under(imp, module+"/api") {
						bad = append(bad, fmt.Sprintf("%s imports %s", p.ImportPath, imp))
					}
				}
			}
			return bad
		}},
	}
}
