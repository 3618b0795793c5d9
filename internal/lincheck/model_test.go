package lincheck

import (
	"math"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// op builds a history entry; ret < 0 means the call never returned.
func op(client int, in Input, call, ret int64, out Output) porcupine.Operation {
	if ret < 0 {
		ret = math.MaxInt64
	}
	return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
}

func create(k, v string) Input       { return Input{Kind: Create, Key: k, Value: v} }
func update(k, v string) Input       { return Input{Kind: Update, Key: k, Value: v} }
func cas(k, exp, v string) Input     { return Input{Kind: CAS, Key: k, Expect: exp, Value: v} }
func del(k string) Input             { return Input{Kind: Delete, Key: k} }
func get(k string) Input             { return Input{Kind: Get, Key: k} }
func ok(rev uint64) Output           { return Output{Result: OK, Rev: rev} }
func read(v string, r uint64) Output { return Output{Result: OK, Value: v, Rev: r} }
func res(r Result) Output            { return Output{Result: r} }

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"sequential create read update delete", []porcupine.Operation{
			op(0, create("a", "v1"), 0, 1, ok(5)),
			op(0, get("a"), 2, 3, read("v1", 5)),
			op(0, update("a", "v2"), 4, 5, ok(6)),
			op(0, cas("a", "v2", "v3"), 6, 7, ok(7)),
			op(0, del("a"), 8, 9, res(OK)),
			op(0, get("a"), 10, 11, res(NotFound)),
		}, porcupine.Ok},
		{"stale read after a completed write", []porcupine.Operation{
			op(0, create("a", "v1"), 0, 1, ok(5)),
			op(0, update("a", "v2"), 2, 3, ok(6)),
			op(1, get("a"), 4, 5, read("v1", 5)),
		}, porcupine.Illegal},
		{"concurrent read may see either", []porcupine.Operation{
			op(0, create("a", "v1"), 0, 1, ok(5)),
			op(0, update("a", "v2"), 2, 6, ok(6)),
			op(1, get("a"), 3, 4, read("v1", 5)),
			op(2, get("a"), 3, 7, read("v2", 6)),
		}, porcupine.Ok},
		{"read going back in time", []porcupine.Operation{
			op(0, create("a", "v1"), 0, 1, ok(5)),
			op(0, update("a", "v2"), 2, 10, ok(6)),
			op(1, get("a"), 3, 4, read("v2", 6)),
			op(2, get("a"), 5, 6, read("v1", 5)),
		}, porcupine.Illegal},
		{"two CAS from the same value both succeed", []porcupine.Operation{
			op(0, create("a", "v1"), 0, 1, ok(5)),
			op(1, cas("a", "v1", "x"), 2, 4, ok(6)),
			op(2, cas("a", "v1", "y"), 2, 4, ok(7)),
		}, porcupine.Illegal},
		{"CAS loses to a concurrent one", []porcupine.Operation{
			op(0, create("a", "v1"), 0, 1, ok(5)),
			op(1, cas("a", "v1", "x"), 2, 4, ok(6)),
			op(2, cas("a", "v1", "y"), 2, 4, res(Conflict)),
		}, porcupine.Ok},
		{"create over an existing key", []porcupine.Operation{
			op(0, create("a", "v1"), 0, 1, ok(5)),
			op(1, create("a", "v2"), 2, 3, ok(6)),
		}, porcupine.Illegal},
		{"lost acknowledged write", []porcupine.Operation{
			op(0, create("a", "v1"), 0, 1, ok(5)),
			op(1, get("a"), 2, 3, res(NotFound)),
		}, porcupine.Illegal},
		{"unknown write that happened", []porcupine.Operation{
			op(0, create("a", "v1"), 0, 1, ok(5)),
			op(1, update("a", "v2"), 2, -1, res(Unknown)),
			op(2, get("a"), 5, 6, read("v2", 9)),
			op(2, get("a"), 7, 8, read("v2", 9)),
		}, porcupine.Ok},
		{"unknown write that never happened", []porcupine.Operation{
			op(0, create("a", "v1"), 0, 1, ok(5)),
			op(1, update("a", "v2"), 2, -1, res(Unknown)),
			op(2, get("a"), 5, 6, read("v1", 5)),
		}, porcupine.Ok},
		{"unknown write seen, then unseen", []porcupine.Operation{
			op(0, create("a", "v1"), 0, 1, ok(5)),
			op(1, update("a", "v2"), 2, -1, res(Unknown)),
			op(2, get("a"), 5, 6, read("v2", 9)),
			op(2, get("a"), 7, 8, read("v1", 5)),
		}, porcupine.Illegal},
		{"unknown write read with two revisions", []porcupine.Operation{
			op(0, create("a", "v1"), 0, 1, ok(5)),
			op(1, update("a", "v2"), 2, -1, res(Unknown)),
			op(2, get("a"), 5, 6, read("v2", 9)),
			op(2, get("a"), 7, 8, read("v2", 10)),
		}, porcupine.Illegal},
		{"unknown delete", []porcupine.Operation{
			op(0, create("a", "v1"), 0, 1, ok(5)),
			op(1, del("a"), 2, -1, res(Unknown)),
			op(2, get("a"), 5, 6, res(NotFound)),
			op(2, create("a", "v3"), 7, 8, ok(12)),
		}, porcupine.Ok},
		{"keys are independent", []porcupine.Operation{
			op(0, create("a", "v1"), 0, 1, ok(5)),
			op(1, create("b", "w1"), 0, 1, ok(6)),
			op(2, get("b"), 2, 3, read("w1", 6)),
			op(2, get("a"), 2, 3, read("v1", 5)),
		}, porcupine.Ok},
		{"update of an absent key succeeds", []porcupine.Operation{
			op(0, update("a", "v1"), 0, 1, ok(5)),
		}, porcupine.Illegal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Check(tt.ops, 10*time.Second)
			if v.Result != tt.want {
				t.Fatalf("Check = %v, want %v", v.Result, tt.want)
			}
		})
	}
}

func TestHistoryRecordsUnknownWritesAsPending(t *testing.T) {
	h := NewHistory()
	h.Begin(0, create("a", "v1")).End(ok(5))
	h.Begin(1, update("a", "v2")).End(res(Unknown))
	h.Begin(2, get("a")).End(res(Unknown)) // dropped: says nothing
	ops := h.Operations()
	if len(ops) != 2 {
		t.Fatalf("recorded %d operations, want 2", len(ops))
	}
	if ops[1].Return != math.MaxInt64 {
		t.Fatalf("unknown write returns at %d, want never", ops[1].Return)
	}
	if v := Check(ops, 5*time.Second); v.Result != porcupine.Ok || v.Unknown != 1 {
		t.Fatalf("Check = %+v", v)
	}
}

func TestVisualization(t *testing.T) {
	v := Check([]porcupine.Operation{
		op(0, create("a", "v1"), 0, 1, ok(5)),
		op(1, get("a"), 2, 3, res(NotFound)),
	}, 5*time.Second)
	path := t.TempDir() + "/lin.html"
	if err := v.WriteVisualization(path); err != nil {
		t.Fatal(err)
	}
}
