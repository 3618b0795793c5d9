package config

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestKeyNotesNameKeys keeps the notes of the generated reference in step
// with the field tables: a note for a key that was renamed or removed
// fails here instead of vanishing from the docs.
func TestKeyNotesNameKeys(t *testing.T) {
	tests := []struct {
		name  string
		notes map[string]string
		keys  []Key
	}{
		{"server", serverNotes, ServerKeys()},
		{"worker", workerNotes, WorkerKeys()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			known := map[string]bool{}
			for _, k := range tt.keys {
				known[k.Name] = true
			}
			for key, note := range tt.notes {
				if !known[key] {
					t.Errorf("note for unknown key %q", key)
				}
				if strings.TrimSpace(note) == "" || !strings.HasSuffix(note, ".") {
					t.Errorf("note for %q should be sentences ending with '.': %q", key, note)
				}
			}
		})
	}
}

// TestKeysMatchFlags checks the reference's view of each key against the
// flag `skiff server --help` and `skiff worker --help` show: same name,
// same help text, same default.
func TestKeysMatchFlags(t *testing.T) {
	tests := []struct {
		name     string
		register func(*pflag.FlagSet)
		keys     []Key
	}{
		{"server", ServerFlags, ServerKeys()},
		{"worker", WorkerFlags, WorkerKeys()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet(tt.name, pflag.ContinueOnError)
			tt.register(fs)
			n := 0
			fs.VisitAll(func(*pflag.Flag) { n++ })
			if n != len(tt.keys) {
				t.Errorf("%d flags but %d keys", n, len(tt.keys))
			}
			for _, k := range tt.keys {
				f := fs.Lookup(strings.TrimPrefix(k.Flag, "--"))
				if f == nil {
					t.Errorf("%s: flag %s is not registered", k.Name, k.Flag)
					continue
				}
				if f.Usage != k.Usage {
					t.Errorf("%s: usage %q, flag says %q", k.Name, k.Usage, f.Usage)
				}
				def := f.DefValue
				if def == "[]" { // pflag's empty list and map
					def = ""
				}
				if def != k.Default {
					t.Errorf("%s: default %q, flag says %q", k.Name, k.Default, def)
				}
				if want := "SKIFF_" + strings.ToUpper(strings.ReplaceAll(k.Name, ".", "_")); k.Env != want {
					t.Errorf("%s: environment variable %s, want %s", k.Name, k.Env, want)
				}
				if strings.Contains(k.Type, "*") {
					t.Errorf("%s: type %q has no name in the reference", k.Name, k.Type)
				}
			}
		})
	}
}

// TestKeysReadFromEnvironment sets each key that has a typed value through
// its documented variable to something that does not parse, and expects
// the loader to name that variable: the reference's Env column is the
// variable the loader reads.
func TestKeysReadFromEnvironment(t *testing.T) {
	tests := []struct {
		name string
		keys []Key
		load func(env []string) error
	}{
		{"server", ServerKeys(), func(env []string) error {
			_, err := loadServer("", nil, env, fakeLookup)
			return err
		}},
		{"worker", WorkerKeys(), func(env []string) error {
			_, err := load(workerSchema(), "", nil, env, fakeLookup)
			return err
		}},
	}
	for _, tt := range tests {
		for _, k := range tt.keys {
			switch k.Type {
			case "string", "list of strings":
				continue // any text decodes; validation differs per key
			}
			t.Run(tt.name+"/"+k.Name, func(t *testing.T) {
				err := tt.load([]string{k.Env + "=not,a=value"})
				if err == nil || !strings.Contains(err.Error(), k.Name+": ") || !strings.Contains(err.Error(), "set by "+k.Env) {
					t.Fatalf("%s=junk: got %v, want an error naming %s and %s", k.Env, err, k.Name, k.Env)
				}
			})
		}
	}
}
