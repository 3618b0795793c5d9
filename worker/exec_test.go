package worker

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestParseExecQuery(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		want        execQuery
		err         string
	}{
		{name: "as the API server asks", query: "command=sh&command=-c&command=cat&input=1&output=1&error=1",
			want: execQuery{Cmd: []string{"sh", "-c", "cat"}, Stdin: true, Stdout: true, Stderr: true}},
		{name: "a tty has no stderr", query: "command=sh&input=1&output=1&error=1&tty=1",
			want: execQuery{Cmd: []string{"sh"}, Stdin: true, Stdout: true, TTY: true}},
		{name: "true is yes", query: "command=ls&output=true",
			want: execQuery{Cmd: []string{"ls"}, Stdout: true}},
		{name: "no command", query: "output=1", err: "command:"},
		{name: "no stream", query: "command=ls&tty=1", err: "at least one stream"},
		{name: "bad boolean", query: "command=ls&output=2", err: `output: "2"`},
		{name: "repeated", query: "command=ls&output=1&output=1", err: "output: given 2 times"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			got, err := parseExecQuery(q)
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

// FuzzParseExecQuery: the parser never panics, and what it accepts runs a
// command with at least one stream and never a tty with a separate stderr.
func FuzzParseExecQuery(f *testing.F) {
	for _, s := range []string{"command=sh&input=1&output=1&tty=1", "command=ls&error=true", "output=1", "%", "command=a&command=b&input=0&output=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		e, err := parseExecQuery(q)
		if err != nil {
			return
		}
		if len(e.Cmd) == 0 || e.Cmd[0] == "" || !(e.Stdin || e.Stdout || e.Stderr) || (e.TTY && e.Stderr) {
			t.Fatalf("accepted %q as %+v", raw, e)
		}
	})
}
