package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// decode converts raw, a value from YAML, the environment or a flag, into
// the field ptr points to. It is stricter than viper's own casting: numbers
// are decimal, durations need a unit, and strings must be strings, so a typo
// is reported rather than silently turned into a zero.
func decode(ptr, raw any) error {
	switch p := ptr.(type) {
	case *string:
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("expected a string, got %s (quote it)", describe(raw))
		}
		*p = s
	case *int:
		n, err := toInt64(raw)
		if err != nil {
			return err
		}
		if n < math.MinInt || n > math.MaxInt {
			return fmt.Errorf("%d is out of range", n)
		}
		*p = int(n)
	case *uint64:
		n, err := toUint64(raw)
		if err != nil {
			return err
		}
		*p = n
	case *time.Duration:
		d, err := toDuration(raw)
		if err != nil {
			return err
		}
		*p = d
	case *[]string:
		l, err := toList(raw)
		if err != nil {
			return err
		}
		*p = l
	case *netip.Prefix:
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("expected a CIDR like \"10.244.0.0/16\", got %s", describe(raw))
		}
		v, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil || v != v.Masked() {
			return fmt.Errorf("%q is not a CIDR like \"10.244.0.0/16\" (address bits past the prefix must be zero)", s)
		}
		*p = v
	case *netip.Addr:
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("expected an IP address, got %s", describe(raw))
		}
		v, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil || v.Zone() != "" {
			return fmt.Errorf("%q is not an IP address", s)
		}
		*p = v
	case *map[string]string:
		m, err := toStringMap(raw)
		if err != nil {
			return err
		}
		*p = m
	default:
		return fmt.Errorf("unsupported field type %T", ptr)
	}
	return nil
}

var errNotInteger = errors.New("not an integer")

func toInt64(raw any) (int64, error) {
	switch n := raw.(type) {
	case int:
		return int64(n), nil
	case int64:
		return n, nil
	case uint64:
		if n > math.MaxInt64 {
			return 0, fmt.Errorf("%d is out of range", n)
		}
		return int64(n), nil
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is %w", n, errNotInteger)
		}
		return i, nil
	}
	return 0, fmt.Errorf("expected an integer, got %s", describe(raw))
}

func toUint64(raw any) (uint64, error) {
	switch n := raw.(type) {
	case int:
		if n < 0 {
			return 0, fmt.Errorf("%d is negative", n)
		}
		return uint64(n), nil
	case int64:
		if n < 0 {
			return 0, fmt.Errorf("%d is negative", n)
		}
		return uint64(n), nil
	case uint64:
		return n, nil
	case string:
		u, err := strconv.ParseUint(strings.TrimSpace(n), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a non-negative integer", n)
		}
		return u, nil
	}
	return 0, fmt.Errorf("expected a non-negative integer, got %s", describe(raw))
}

func toDuration(raw any) (time.Duration, error) {
	switch d := raw.(type) {
	case time.Duration:
		return d, nil
	case string:
		v, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration like \"500ms\" or \"30s\"", d)
		}
		return v, nil
	}
	return 0, fmt.Errorf("expected a duration like \"500ms\" or \"30s\", got %s", describe(raw))
}

// toList accepts a YAML sequence of strings or one comma-separated string
// (the form of SKIFF_JOIN); blank entries are dropped.
func toList(raw any) ([]string, error) {
	var items []string
	switch l := raw.(type) {
	case []string:
		items = l
	case []any:
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("item %d: expected a string, got %s", i, describe(e))
			}
			items = append(items, s)
		}
	case string:
		items = strings.Split(l, ",")
	default:
		return nil, fmt.Errorf("expected a list of strings, got %s", describe(raw))
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// toStringMap accepts a map of strings or one "k=v,k2=v2" string (the form
// of SKIFF_LABELS); values must be strings, so `zone: 1` must be quoted.
func toStringMap(raw any) (map[string]string, error) {
	out := map[string]string{}
	switch m := raw.(type) {
	case map[string]string:
		for k, v := range m {
			out[k] = v
		}
	case map[string]any:
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s: expected a string, got %s (quote it)", k, describe(v))
			}
			out[k] = s
		}
	case string:
		for _, kv := range strings.Split(m, ",") {
			if kv = strings.TrimSpace(kv); kv == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("%q: expected key=value", kv)
			}
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	default:
		return nil, fmt.Errorf("expected a map of strings, got %s", describe(raw))
	}
	return out, nil
}

// describe names the kind of a decoded value for error messages without
// echoing it, since it may be a secret.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, uint64:
		return "an integer"
	case float64, float32:
		return "a number"
	case []any, []string:
		return "a list"
	case map[string]any, map[any]any:
		return "a map"
	}
	return fmt.Sprintf("a %T", v)
}
