package faults

import (
	"math"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/skiffhq/skiff/internal/lincheck"
)

func write(kind lincheck.Kind, key, value string, res lincheck.Result, rev uint64) porcupine.Operation {
	ret := int64(10)
	if res == lincheck.Unknown {
		ret = math.MaxInt64
	}
	return porcupine.Operation{Input: lincheck.Input{Kind: kind, Key: key, Value: value}, Output: lincheck.Output{Result: res, Rev: rev}, Call: 1, Return: ret}
}

func TestCheckWatches(t *testing.T) {
	ops := []porcupine.Operation{
		write(lincheck.Create, "a", "v1", lincheck.OK, 10),
		write(lincheck.Update, "a", "v2", lincheck.OK, 12),
		write(lincheck.CAS, "a", "v3", lincheck.Unknown, 0),
		write(lincheck.Delete, "a", "", lincheck.OK, 0),
	}
	good := []event{{"ADDED", "a", "v1", 10}, {"MODIFIED", "a", "v2", 12}, {"MODIFIED", "a", "v3", 13}, {"DELETED", "a", "v3", 15}}
	tests := []struct {
		name    string
		streams [][]event
		want    string // substring of a violation; "" for none
	}{
		{"all agree", [][]event{good, good}, ""},
		{"unknown write that never happened", [][]event{
			{{"ADDED", "a", "v1", 10}, {"MODIFIED", "a", "v2", 12}, {"DELETED", "a", "v2", 15}}}, ""},
		{"events after upTo are ignored", [][]event{good, append(append([]event(nil), good...), event{"ADDED", "b", "x", 99})}, ""},
		{"gap in one watcher", [][]event{good, {good[0], good[2], good[3]}}, "differ"},
		{"duplicate", [][]event{{good[0], good[1], good[1], good[2], good[3]}}, "after revision 12"},
		{"reordered", [][]event{{good[1], good[0], good[2], good[3]}}, "after revision 12"},
		{"acknowledged write missing", [][]event{{good[0], good[2], good[3]}}, "no watcher saw it"},
		{"wrong value at revision", [][]event{{good[0], {"MODIFIED", "a", "v9", 12}, good[2], good[3]}}, "but the event there"},
		{"phantom write", [][]event{{good[0], good[1], good[2], {"MODIFIED", "a", "zz", 14}, good[3]}}, "no write explains it"},
		{"applied twice", [][]event{{good[0], good[1], good[2], {"MODIFIED", "a", "v3", 14}, good[3]}}, "written twice"},
		{"delete missing", [][]event{good[:3]}, "acknowledged deletes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkWatches(ops, tt.streams, 20)
			if tt.want == "" {
				if len(got) > 0 {
					t.Fatalf("violations %q, want none", got)
				}
				return
			}
			if !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Fatalf("violations %q, want one with %q", got, tt.want)
			}
		})
	}
}

func TestCheckGones(t *testing.T) {
	got := checkGones([]gone{
		{Server: 0, Asked: 5, Oldest: 9, Message: "too old resource version: 5 (9)"},
		{Server: 1, Asked: 9, Oldest: 9, Message: "too old resource version: 9 (9)"},
		{Server: 2, Asked: 5, Message: "too old"},
	})
	if len(got) != 2 || !strings.Contains(got[0], "s2") || !strings.Contains(got[1], "s3") {
		t.Fatalf("checkGones = %q, want the 410s of s2 and s3", got)
	}
}
