package faults

import (
	"errors"
	"net"
	"testing"

	"github.com/skiffhq/skiff/internal/lincheck"
)

func TestClassify(t *testing.T) {
	ok := object{}
	ok.Metadata.ResourceVersion = "42"
	ok.Data = map[string]string{"v": "x"}
	exists := object{Reason: "AlreadyExists"}
	dialErr := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	readErr := &net.OpError{Op: "read", Err: errors.New("connection reset")}
	tests := []struct {
		name     string
		kind     lincheck.Kind
		o        outcome
		want     lincheck.Output
		definite bool
	}{
		{"get ok", lincheck.Get, outcome{code: 200, obj: ok}, lincheck.Output{Result: lincheck.OK, Value: "x", Rev: 42}, true},
		{"create ok", lincheck.Create, outcome{code: 201, obj: ok}, lincheck.Output{Result: lincheck.OK, Rev: 42}, true},
		{"not found", lincheck.Delete, outcome{code: 404}, lincheck.Output{Result: lincheck.NotFound}, true},
		{"create exists", lincheck.Create, outcome{code: 409, obj: exists}, lincheck.Output{Result: lincheck.Exists}, true},
		{"cas conflict", lincheck.CAS, outcome{code: 409}, lincheck.Output{Result: lincheck.Conflict}, true},
		{"update gave up", lincheck.Update, outcome{code: 409}, lincheck.Output{Result: lincheck.Unknown}, false},
		{"throttled", lincheck.Create, outcome{code: 429}, lincheck.Output{Result: lincheck.Unknown}, false},
		{"unknown outcome", lincheck.Update, outcome{code: 504}, lincheck.Output{Result: lincheck.Unknown}, true},
		{"unavailable", lincheck.CAS, outcome{code: 503}, lincheck.Output{Result: lincheck.Unknown}, true},
		{"never connected", lincheck.Create, outcome{err: errors.Join(errors.New("post"), dialErr)}, lincheck.Output{Result: lincheck.Unknown}, false},
		{"connection lost", lincheck.Create, outcome{err: readErr}, lincheck.Output{Result: lincheck.Unknown}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, definite := classify(tt.kind, tt.o)
			if got != tt.want || definite != tt.definite {
				t.Fatalf("classify = %+v %v, want %+v %v", got, definite, tt.want, tt.definite)
			}
		})
	}
}
