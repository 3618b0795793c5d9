package apiserver

import (
	"fmt"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// parseExecOptions reads the query of pods/{name}/exec into
// PodExecOptions, as kubectl and client-go send it: command (repeated, in
// order), container, and stdin, stdout, stderr and tty as booleans
// ("true", "false", "1" or "0"; absent is false). Unknown parameters are
// ignored, as Kubernetes does. Errors name the parameter.
func parseExecOptions(q url.Values) (corev1.PodExecOptions, error) {
	var o corev1.PodExecOptions
	o.Command = q["command"]
	if len(o.Command) == 0 || o.Command[0] == "" {
		return o, fmt.Errorf("command: you must specify at least 1 command")
	}
	if c := q["container"]; len(c) > 1 {
		return o, fmt.Errorf("container: given %d times", len(c))
	} else if len(c) == 1 {
		o.Container = c[0]
	}
	for _, f := range []struct {
		name string
		to   *bool
	}{{"stdin", &o.Stdin}, {"stdout", &o.Stdout}, {"stderr", &o.Stderr}, {"tty", &o.TTY}} {
		v := q[f.name]
		switch {
		case len(v) == 0:
			continue
		case len(v) > 1:
			return o, fmt.Errorf("%s: given %d times", f.name, len(v))
		}
		switch strings.ToLower(v[0]) {
		case "true", "1":
			*f.to = true
		case "false", "0", "":
		default:
			return o, fmt.Errorf("%s: %q is not a boolean", f.name, v[0])
		}
	}
	if !o.Stdin && !o.Stdout && !o.Stderr {
		return o, fmt.Errorf("stdin, stdout, stderr: you must specify at least one of them")
	}
	return o, nil
}

// workerExecQuery is the query of the worker's /exec endpoint for o, in
// the kubelet's parameter names.
func workerExecQuery(o corev1.PodExecOptions) url.Values {
	v := url.Values{"command": o.Command}
	for _, f := range []struct {
		name string
		on   bool
	}{{"input", o.Stdin}, {"output", o.Stdout}, {"error", o.Stderr}, {"tty", o.TTY}} {
		if f.on {
			v.Set(f.name, "1")
		}
	}
	return v
}
