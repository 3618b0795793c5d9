package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Key describes one configuration key as the loader sees it, for the
// generated reference (docs/config-reference.md, written by
// internal/gendocs). Everything but Notes comes from the same field tables
// the loader and the flags use, so the reference cannot drift from them.
type Key struct {
	Name    string // the YAML key, dotted inside a section: "raft.heartbeat_timeout"
	Type    string // "string", "integer", "duration", "list of strings", ...
	Default string // as a user would write it; "" when there is none or it depends on the host
	Env     string // "SKIFF_RAFT_HEARTBEAT_TIMEOUT"
	Flag    string // "--raft-heartbeat-timeout"
	Usage   string // the flag's help text
	Notes   string // rules Validate enforces and behaviour beyond the help text; may be ""
}

// ServerKeys returns every key of [Server], in the order of the struct.
func ServerKeys() []Key { return keys(serverSchema(), serverNotes) }

// WorkerKeys returns every key of [Worker], in the order of the struct.
func WorkerKeys() []Key { return keys(workerSchema(), workerNotes) }

func keys[T any](sc schema[T], notes map[string]string) []Key {
	d := sc.defaults()
	out := make([]Key, 0, len(sc.fields))
	for _, f := range sc.fields {
		k := Key{
			Name:  f.key,
			Type:  typeName(f.ptr(&d)),
			Env:   f.envName(),
			Flag:  "--" + f.flagName(),
			Usage: f.usage,
			Notes: notes[f.key],
		}
		if !hostDependent(f.key) {
			k.Default = formatDefault(f.defaultValue(&d))
		}
		out = append(out, k)
	}
	return out
}

// hostDependent reports whether the default of key is computed from the
// machine (the host name), so that help text and the reference describe
// it in words instead of printing this machine's value.
func hostDependent(key string) bool { return key == "name" || key == "data_dir" }

// typeName names the type of a field pointer as the reference shows it.
func typeName(ptr any) string {
	switch ptr.(type) {
	case *string:
		return "string"
	case *int:
		return "integer"
	case *uint64:
		return "non-negative integer"
	case *time.Duration:
		return "duration"
	case *[]string:
		return "list of strings"
	case *map[string]string:
		return "map of strings"
	case *netip.Prefix:
		return "CIDR"
	case *netip.Addr:
		return "IP address"
	}
	return fmt.Sprintf("%T", ptr)
}

// formatDefault writes a default value as a user would write it in YAML
// or a flag; empty lists and maps are "".
func formatDefault(v any) string {
	switch d := v.(type) {
	case nil:
		return ""
	case time.Duration:
		return d.String()
	case []string:
		return strings.Join(d, ",")
	case map[string]string:
		return formatMap(d)
	}
	return fmt.Sprint(v)
}

// formatMap writes m as k=v pairs in key order, the form of SKIFF_LABELS.
func formatMap(m map[string]string) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	for i, k := range ks {
		ks[i] = k + "=" + m[k]
	}
	return strings.Join(ks, ",")
}
