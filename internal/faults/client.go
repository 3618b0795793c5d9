package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/skiffhq/skiff/internal/lincheck"
)

// namespace holds every object the workload writes.
const namespace = "default"

const configMaps = "/api/v1/namespaces/" + namespace + "/configmaps"

// opTimeout bounds one request. A write that hits it has an unknown
// outcome.
const opTimeout = 1500 * time.Millisecond

// api sends the workload's requests to one server at a time.
type api struct {
	http  *http.Client
	token string
	url   func(server int) string
}

// object is the part of a ConfigMap or Status the workload reads.
type object struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name            string            `json:"name"`
		ResourceVersion string            `json:"resourceVersion"`
		Labels          map[string]string `json:"labels"`
	} `json:"metadata"`
	Data map[string]string `json:"data"`
	// Status fields.
	Reason  string `json:"reason"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (o object) rev() uint64 {
	r, _ := strconv.ParseUint(o.Metadata.ResourceVersion, 10, 64)
	return r
}

// body builds a ConfigMap; rev 0 leaves resourceVersion out.
func body(run, name, value string, rev uint64) []byte {
	var o object
	o.Kind = "ConfigMap"
	o.Metadata.Name = name
	o.Metadata.Labels = map[string]string{"run": run}
	if rev != 0 {
		o.Metadata.ResourceVersion = strconv.FormatUint(rev, 10)
	}
	o.Data = map[string]string{"v": value}
	b, _ := json.Marshal(struct {
		APIVersion string `json:"apiVersion"`
		object
	}{"v1", o})
	return b
}

// outcome is a request's answer: its status code and decoded body, or an
// error if none arrived.
type outcome struct {
	code int
	obj  object
	err  error
}

func (a *api) do(ctx context.Context, server int, method, path string, b []byte) outcome {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	var r io.Reader
	if b != nil {
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.url(server)+path, r)
	if err != nil {
		return outcome{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/json")
	if b != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return outcome{code: resp.StatusCode, err: err}
	}
	out := outcome{code: resp.StatusCode}
	if err := json.Unmarshal(raw, &out.obj); err != nil {
		out.err = fmt.Errorf("decode %d answer: %w: %.200s", resp.StatusCode, err, raw)
	}
	return out
}

// classify turns an answer into the history's terms. definite is false
// when the request had no effect and says nothing (a 429, an update that
// lost too many races): such operations are left out of the history.
func classify(kind lincheck.Kind, o outcome) (out lincheck.Output, definite bool) {
	unknown := lincheck.Output{Result: lincheck.Unknown}
	if o.err != nil {
		// A request whose connection could not be opened never reached
		// a server.
		var op *net.OpError
		if errors.As(o.err, &op) && op.Op == "dial" {
			return unknown, false
		}
		return unknown, true
	}
	switch {
	case o.code == http.StatusOK || o.code == http.StatusCreated:
		out = lincheck.Output{Result: lincheck.OK, Rev: o.obj.rev()}
		if kind == lincheck.Get {
			out.Value = o.obj.Data["v"]
		}
		return out, true
	case o.code == http.StatusNotFound:
		return lincheck.Output{Result: lincheck.NotFound}, true
	case o.code == http.StatusConflict && o.obj.Reason == "AlreadyExists" && kind == lincheck.Create:
		return lincheck.Output{Result: lincheck.Exists}, true
	case o.code == http.StatusConflict && kind == lincheck.CAS:
		return lincheck.Output{Result: lincheck.Conflict}, true
	case o.code == http.StatusConflict && kind == lincheck.Update:
		// An update without resourceVersion that kept losing races to
		// other writers gives up without writing.
		return unknown, false
	case o.code == http.StatusTooManyRequests:
		return unknown, false
	}
	// 5xx (including 504 UnknownOutcome) and anything unexpected: the
	// write may have happened.
	return unknown, true
}

// call runs one operation against server and returns what the history
// records, with the answer's raw form for diagnostics.
func (a *api) call(ctx context.Context, server int, run string, in lincheck.Input, expectRev uint64, stale bool) (lincheck.Output, bool, outcome) {
	var o outcome
	switch in.Kind {
	case lincheck.Get:
		path := configMaps + "/" + in.Key
		if stale {
			path += "?resourceVersion=0"
		}
		o = a.do(ctx, server, http.MethodGet, path, nil)
	case lincheck.Create:
		o = a.do(ctx, server, http.MethodPost, configMaps, body(run, in.Key, in.Value, 0))
	case lincheck.Update:
		o = a.do(ctx, server, http.MethodPut, configMaps+"/"+in.Key, body(run, in.Key, in.Value, 0))
	case lincheck.CAS:
		o = a.do(ctx, server, http.MethodPut, configMaps+"/"+in.Key, body(run, in.Key, in.Value, expectRev))
	case lincheck.Delete:
		o = a.do(ctx, server, http.MethodDelete, configMaps+"/"+in.Key, nil)
	}
	out, definite := classify(in.Kind, o)
	return out, definite, o
}
