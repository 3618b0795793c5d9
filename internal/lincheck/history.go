package lincheck

import (
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// History collects operations from concurrent clients. Its methods are
// safe for concurrent use.
type History struct {
	start time.Time

	mu  sync.Mutex
	ops []porcupine.Operation
}

// NewHistory starts an empty history; timestamps count from now.
func NewHistory() *History { return &History{start: time.Now()} }

// Call is an operation in flight.
type Call struct {
	h      *History
	client int
	in     Input
	call   int64
}

// Begin records that client issued in. Call it right before the request
// leaves, and Call.End right after the answer arrives.
func (h *History) Begin(client int, in Input) *Call {
	return &Call{h: h, client: client, in: in, call: int64(time.Since(h.start))}
}

// End records the answer. An Unknown write never returns: the checker may
// linearize it at any point after its call. A read whose outcome is
// unknown says nothing and is dropped.
func (c *Call) End(out Output) {
	ret := int64(time.Since(c.h.start))
	if out.Result == Unknown {
		if c.in.Kind == Get {
			return
		}
		ret = math.MaxInt64
	}
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	c.h.ops = append(c.h.ops, porcupine.Operation{ClientId: c.client, Input: c.in, Call: c.call, Output: out, Return: ret})
}

// Operations returns a copy of the recorded operations.
func (h *History) Operations() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]porcupine.Operation(nil), h.ops...)
}

// Verdict is the outcome of a check.
type Verdict struct {
	Result porcupine.CheckResult
	// Ops and Unknown count the operations checked and those of them with
	// an unknown outcome.
	Ops, Unknown int
	info         porcupine.LinearizationInfo
}

// Check checks ops against Model. A check that does not finish within
// timeout is porcupine.Unknown, which callers must treat as a failure.
func Check(ops []porcupine.Operation, timeout time.Duration) Verdict {
	res, info := porcupine.CheckOperationsVerbose(Model, ops, timeout)
	v := Verdict{Result: res, Ops: len(ops), info: info}
	for _, op := range ops {
		if op.Output.(Output).Result == Unknown {
			v.Unknown++
		}
	}
	return v
}

// WriteVisualization writes porcupine's HTML view of the check to path,
// showing the longest linearizable prefix of each key and where it fails.
func (v Verdict) WriteVisualization(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := porcupine.Visualize(Model, v.info, f); err != nil {
		f.Close()
		return fmt.Errorf("visualize: %w", err)
	}
	return f.Close()
}
