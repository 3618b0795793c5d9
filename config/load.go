package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// ServerFlags registers on fs one flag per server key (--name, --data-dir,
// --api-addr, ..., --raft-heartbeat-timeout). Only flags the user sets
// override the file and the environment; their defaults are for help text.
func ServerFlags(fs *pflag.FlagSet) {
	registerFlags(fs, serverSchema())
}

// registerFlags registers one flag per key of sc on fs.
func registerFlags[T any](fs *pflag.FlagSet, sc schema[T]) {
	d := sc.defaults()
	for _, f := range sc.fields {
		name := f.flagName()
		switch p := f.ptr(&d).(type) {
		case *string:
			def := *p
			if f.key == "name" || f.key == "data_dir" {
				def = "" // host-dependent; the usage text says what it is.
			}
			fs.String(name, def, f.usage)
		case *int:
			fs.Int(name, *p, f.usage)
		case *uint64:
			fs.Uint64(name, *p, f.usage)
		case *time.Duration:
			fs.Duration(name, *p, f.usage)
		case *[]string:
			fs.StringSlice(name, *p, f.usage)
		case *netip.Prefix, *netip.Addr:
			fs.String(name, fmt.Sprint(p), f.usage)
		case *map[string]string:
			fs.StringToString(name, *p, f.usage)
		}
	}
}

// schema describes one configuration struct T for the generic loader.
type schema[T any] struct {
	fields   []field[T]
	defaults func() T
	// sections are keys that hold a map of other keys ("raft").
	sections []string
	// maps are keys whose value is a free-form map of strings ("labels"):
	// their entries are not keys, and they are read from the file with
	// their case kept, which viper would lose.
	maps []string
	// dataDir returns the data_dir derived from the final configuration
	// when the user set none.
	dataDir func(t *T) string
	// validate checks the final configuration.
	validate func(t *T, lookup lookupFunc) error
}

func serverSchema() schema[Server] {
	return schema[Server]{
		fields:   serverFields(),
		defaults: DefaultServer,
		sections: []string{"raft"},
		dataDir:  func(s *Server) string { return DefaultDataDir(s.Name) },
		validate: func(s *Server, lookup lookupFunc) error { return s.validate(lookup) },
	}
}

// LoadServer builds a server configuration from, in increasing precedence,
// the defaults, the YAML file at path (skipped when path is ""), the SKIFF_*
// variables in env (formatted like os.Environ), and the flags explicitly set
// on fs (which may be nil). It returns the validated configuration; errors
// name the offending key.
func LoadServer(path string, fs *pflag.FlagSet, env []string) (Server, error) {
	return loadServer(path, fs, env, net.DefaultResolver.LookupHost)
}

// loadServer is LoadServer with the host name lookup of Validate injected.
func loadServer(path string, fs *pflag.FlagSet, env []string, lookup lookupFunc) (Server, error) {
	return load(serverSchema(), path, fs, env, lookup)
}

// load is LoadServer for any schema.
func load[T any](sc schema[T], path string, fs *pflag.FlagSet, env []string, lookup lookupFunc) (T, error) {
	var zero T
	d := sc.defaults()
	fields := sc.fields
	v := viper.New()
	for _, f := range fields {
		if f.key != "data_dir" { // derived from the final name below
			v.SetDefault(f.key, f.defaultValue(&d))
		}
	}
	var fromFile map[string]bool
	var fileMaps map[string]any
	if path != "" {
		settings, keys, maps, err := readFile(sc, path)
		if err != nil {
			return zero, err
		}
		fromFile, fileMaps = keys, maps
		if err := v.MergeConfigMap(settings); err != nil {
			return zero, fmt.Errorf("config %s: %w", path, err)
		}
	}
	envSettings, fromEnv := readEnv(env, fields)
	if err := v.MergeConfigMap(envSettings); err != nil {
		return zero, fmt.Errorf("environment: %w", err)
	}
	fromFlag := map[string]bool{}
	if fs != nil {
		for _, f := range fields {
			fl := fs.Lookup(f.flagName())
			if fl == nil {
				continue
			}
			if err := v.BindPFlag(f.key, fl); err != nil {
				return zero, fmt.Errorf("flag --%s: %w", fl.Name, err)
			}
			fromFlag[f.key] = fl.Changed
		}
	}

	s := d
	var errs []error
	for _, f := range fields {
		raw := v.Get(f.key)
		if m, ok := fileMaps[f.key]; ok && !fromFlag[f.key] && !fromEnv[f.key] {
			// viper lower-cases map keys; take the file's map as written.
			raw = m
		}
		if raw == nil {
			continue
		}
		if err := decode(f.ptr(&s), raw); err != nil {
			var origin string
			switch {
			case fromFlag[f.key]:
				origin = "set by --" + f.flagName()
			case fromEnv[f.key]:
				origin = "set by " + f.envName()
			case fromFile[f.key]:
				origin = "set in " + path
			default:
				origin = "default"
			}
			errs = append(errs, fmt.Errorf("%s: %w (%s)", f.key, err, origin))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return zero, err
	}
	if !v.IsSet("data_dir") {
		ptr := fieldPtr(&s, fields, "data_dir")
		*ptr = sc.dataDir(&s)
	}
	if err := sc.validate(&s, lookup); err != nil {
		return zero, err
	}
	return s, nil
}

// fieldPtr returns the *string of key in t; the key must be a string field.
func fieldPtr[T any](t *T, fields []field[T], key string) *string {
	f, _ := lookupField(fields, key)
	return f.ptr(t).(*string)
}

// readFile parses the YAML file at path and returns its settings as a nested
// map, and the set of keys it sets. Unknown keys are errors.
func readFile[T any](sc schema[T], path string) (settings map[string]any, keys map[string]bool, maps map[string]any, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("config %s: %w", path, err)
	}
	return parseYAML(sc, path, data)
}

// parseYAML is readFile without the I/O; name appears in errors.
func parseYAML[T any](sc schema[T], name string, data []byte) (map[string]any, map[string]bool, map[string]any, error) {
	fv := viper.New()
	fv.SetConfigType("yaml")
	if err := fv.ReadConfig(bytes.NewReader(data)); err != nil {
		var pe viper.ConfigParseError
		if errors.As(err, &pe) && pe.Unwrap() != nil {
			err = pe.Unwrap() // drop viper's capitalised "While parsing config"
		}
		return nil, nil, nil, fmt.Errorf("config %s: %w", name, err)
	}
	settings := map[string]any{}
	keys := map[string]bool{}
	var errs []error
	maps := map[string]any{}
	for _, m := range sc.maps {
		val, err := verbatimMap(data, m)
		if err != nil {
			errs = append(errs, fmt.Errorf("config %s: %s: %w", name, m, err))
			continue
		}
		if val != nil {
			keys[m] = true
			maps[m] = val
		}
	}
	for _, key := range fv.AllKeys() {
		val := fv.Get(key)
		if k, _, ok := strings.Cut(key, "."); ok && slices.Contains(sc.maps, k) {
			continue // an entry of a free-form map, read by verbatimMap
		}
		if slices.Contains(sc.sections, key) {
			if val != nil { // an empty "raft:" is fine
				errs = append(errs, fmt.Errorf("config %s: %s must be a map of settings, got %s", name, key, describe(val)))
			}
			continue
		}
		if _, ok := lookupField(sc.fields, key); !ok {
			errs = append(errs, fmt.Errorf("config %s: unknown key %q", name, key))
			continue
		}
		if val == nil {
			continue // "name:" with no value: keep the default.
		}
		keys[key] = true
		setNested(settings, key, val)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, nil, err
	}
	return settings, keys, maps, nil
}

// readEnv returns the settings of the SKIFF_* variables in env that name a
// server key, as a nested map, and the set of keys they set. Empty values
// count as unset; a later duplicate wins, as in os/exec.
func readEnv[T any](env []string, fields []field[T]) (map[string]any, map[string]bool) {
	byName := map[string]string{}
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(name, envPrefix) {
			byName[name] = val
		}
	}
	settings := map[string]any{}
	keys := map[string]bool{}
	for _, f := range fields {
		if val := byName[f.envName()]; val != "" {
			keys[f.key] = true
			setNested(settings, f.key, val)
		}
	}
	return settings, keys
}

// setNested stores val in m under the dotted key, creating inner maps.
func setNested(m map[string]any, key string, val any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		inner, ok := m[p].(map[string]any)
		if !ok {
			inner = map[string]any{}
			m[p] = inner
		}
		m = inner
	}
	m[parts[len(parts)-1]] = val
}
