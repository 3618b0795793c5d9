package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// ServerFlags registers on fs one flag per server key (--name, --data-dir,
// --api-addr, ..., --raft-heartbeat-timeout). Only flags the user sets
// override the file and the environment; their defaults are for help text.
func ServerFlags(fs *pflag.FlagSet) {
	d := DefaultServer()
	for _, f := range serverFields() {
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
		}
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
	d := DefaultServer()
	fields := serverFields()
	v := viper.New()
	for _, f := range fields {
		if f.key != "data_dir" { // derived from the final name below
			v.SetDefault(f.key, f.defaultValue(&d))
		}
	}
	var fromFile map[string]bool
	if path != "" {
		settings, keys, err := readFile(path)
		if err != nil {
			return Server{}, err
		}
		fromFile = keys
		if err := v.MergeConfigMap(settings); err != nil {
			return Server{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	envSettings, fromEnv := readEnv(env, fields)
	if err := v.MergeConfigMap(envSettings); err != nil {
		return Server{}, fmt.Errorf("environment: %w", err)
	}
	fromFlag := map[string]bool{}
	if fs != nil {
		for _, f := range fields {
			fl := fs.Lookup(f.flagName())
			if fl == nil {
				continue
			}
			if err := v.BindPFlag(f.key, fl); err != nil {
				return Server{}, fmt.Errorf("flag --%s: %w", fl.Name, err)
			}
			fromFlag[f.key] = fl.Changed
		}
	}

	s := d
	var errs []error
	for _, f := range fields {
		raw := v.Get(f.key)
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
		return Server{}, err
	}
	if !v.IsSet("data_dir") {
		s.DataDir = DefaultDataDir(s.Name)
	}
	if err := s.validate(lookup); err != nil {
		return Server{}, err
	}
	return s, nil
}

// readFile parses the YAML file at path and returns its settings as a nested
// map, and the set of keys it sets. Unknown keys are errors.
func readFile(path string) (map[string]any, map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config %s: %w", path, err)
	}
	return parseYAML(path, data)
}

// parseYAML is readFile without the I/O; name appears in errors.
func parseYAML(name string, data []byte) (map[string]any, map[string]bool, error) {
	fv := viper.New()
	fv.SetConfigType("yaml")
	if err := fv.ReadConfig(bytes.NewReader(data)); err != nil {
		var pe viper.ConfigParseError
		if errors.As(err, &pe) && pe.Unwrap() != nil {
			err = pe.Unwrap() // drop viper's capitalised "While parsing config"
		}
		return nil, nil, fmt.Errorf("config %s: %w", name, err)
	}
	settings := map[string]any{}
	keys := map[string]bool{}
	var errs []error
	for _, key := range fv.AllKeys() {
		val := fv.Get(key)
		if isSection(key) {
			if val != nil { // an empty "raft:" is fine
				errs = append(errs, fmt.Errorf("config %s: %s must be a map of settings, got %s", name, key, describe(val)))
			}
			continue
		}
		if _, ok := lookupField(key); !ok {
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
		return nil, nil, err
	}
	return settings, keys, nil
}

// readEnv returns the settings of the SKIFF_* variables in env that name a
// server key, as a nested map, and the set of keys they set. Empty values
// count as unset; a later duplicate wins, as in os/exec.
func readEnv(env []string, fields []field) (map[string]any, map[string]bool) {
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
