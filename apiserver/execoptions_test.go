package apiserver

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestParseExecOptions(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		want        corev1.PodExecOptions
		err         string // a substring of the error, naming the parameter
	}{
		{name: "kubectl -it", query: "command=sh&command=-c&command=echo+hi&container=app&stdin=true&stdout=true&tty=true",
			want: corev1.PodExecOptions{Command: []string{"sh", "-c", "echo hi"}, Container: "app", Stdin: true, Stdout: true, TTY: true}},
		{name: "numbers as booleans", query: "command=ls&stdout=1&stderr=1&stdin=0",
			want: corev1.PodExecOptions{Command: []string{"ls"}, Stdout: true, Stderr: true}},
		{name: "unknown parameters are ignored", query: "command=ls&stdout=true&pretty=1",
			want: corev1.PodExecOptions{Command: []string{"ls"}, Stdout: true}},
		{name: "no command", query: "stdout=true", err: "command:"},
		{name: "empty command", query: "command=&stdout=true", err: "command:"},
		{name: "no stream", query: "command=ls", err: "stdin, stdout, stderr"},
		{name: "bad boolean", query: "command=ls&stdout=yes", err: `stdout: "yes"`},
		{name: "repeated boolean", query: "command=ls&stdout=true&stdout=false", err: "stdout: given 2 times"},
		{name: "two containers", query: "command=ls&stdout=true&container=a&container=b", err: "container: given 2 times"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseExecOptions(q)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestWorkerExecQuery(t *testing.T) {
	got := workerExecQuery(corev1.PodExecOptions{Command: []string{"sh", "-c", "x y"}, Stdin: true, Stdout: true, TTY: true}).Encode()
	if want := "command=sh&command=-c&command=x+y&input=1&output=1&tty=1"; got != want {
		t.Errorf("query %s, want %s", got, want)
	}
}

// FuzzParseExecOptions feeds arbitrary queries to the parser: it never
// panics, and what it accepts has a command and a stream and survives the
// trip to the worker's query with the command intact.
func FuzzParseExecOptions(f *testing.F) {
	for _, s := range []string{"command=sh&stdin=true&stdout=true&tty=1", "command=&stdout=1", "container=a&command=ls&stderr=TRUE", "%zz", "command=a;stdout=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		o, err := parseExecOptions(q)
		if err != nil {
			return
		}
		if len(o.Command) == 0 || o.Command[0] == "" || !(o.Stdin || o.Stdout || o.Stderr) {
			t.Fatalf("accepted %q as %+v", raw, o)
		}
		back, err := url.ParseQuery(workerExecQuery(o).Encode())
		if err != nil || !reflect.DeepEqual(back["command"], o.Command) {
			t.Fatalf("command %q came back as %q (%v)", o.Command, back["command"], err)
		}
	})
}
