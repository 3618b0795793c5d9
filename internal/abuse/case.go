package abuse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Class is a kind of abuse.
type Class string

// The classes of abuse, in the order the Generator takes turns.
const (
	MalformedJSON        Class = "malformed-json"
	MalformedYAML        Class = "malformed-yaml"
	WrongType            Class = "wrong-type"
	UnknownField         Class = "unknown-field-strict"
	HugeBody             Class = "huge-body"
	StoreLimits          Class = "store-limits"
	DeepNesting          Class = "deep-nesting"
	StaleResourceVersion Class = "stale-resource-version"
	BadLabelSelector     Class = "bad-label-selector"
	BadFieldSelector     Class = "bad-field-selector"
	UnsupportedField     Class = "unsupported-field-selector"
	WrongContentType     Class = "wrong-content-type"
	InvalidName          Class = "invalid-name"
	NamespaceMismatch    Class = "namespace-mismatch"
	BadPatch             Class = "bad-patch"
	BadContinue          Class = "bad-continue"
	BadLimit             Class = "bad-limit"
	BadQuery             Class = "bad-query"
	BadDeleteOptions     Class = "bad-delete-options"
	BadSubresource       Class = "bad-subresource"
	WrongMethod          Class = "wrong-method"
	UnknownResource      Class = "unknown-resource"
	NotFound             Class = "not-found"
	WrongKind            Class = "wrong-kind"
	AlreadyExists        Class = "already-exists"
)

// Classes returns every class, in the order the Generator takes turns.
func Classes() []Class {
	return []Class{
		MalformedJSON, MalformedYAML, WrongType, UnknownField, HugeBody, StoreLimits, DeepNesting,
		StaleResourceVersion, BadLabelSelector, BadFieldSelector, UnsupportedField, WrongContentType,
		InvalidName, NamespaceMismatch, BadPatch, BadContinue, BadLimit, BadQuery, BadDeleteOptions,
		BadSubresource, WrongMethod, UnknownResource, NotFound, WrongKind, AlreadyExists,
	}
}

// Request is one HTTP request, relative to the server's base URL.
type Request struct {
	Method string
	// Path is the path and query.
	Path string
	// ContentType is sent as Content-Type unless empty.
	ContentType string
	Body        Body
}

func (r Request) String() string {
	s := r.Method + " " + abbreviate(r.Path, 160)
	if r.ContentType != "" || r.Body.Len() > 0 {
		s += fmt.Sprintf(" [%s, %d bytes", r.ContentType, r.Body.Len())
		if r.Body.Chunked {
			s += ", chunked"
		}
		s += "] " + abbreviate(string(r.Body.Head(120)), 120)
	}
	return s
}

// Case is one bad request and what the server may answer.
type Case struct {
	// N numbers the case within its Generator, from 0.
	N     int
	Class Class
	// What says in a few words what is wrong with the request.
	What string
	// Setup are requests that must succeed (2xx) before Request is sent:
	// they create the objects it is about.
	Setup   []Request
	Request Request
	// Want are the acceptable status codes, all 4xx.
	Want []int
}

func (c Case) String() string {
	return fmt.Sprintf("case %d (%s: %s): %s", c.N, c.Class, c.What, c.Request)
}

// Response is what a server answered.
type Response struct {
	Code int
	// ContentType is the response's Content-Type.
	ContentType string
	// Body is the response body, cut at MaxResponse bytes.
	Body []byte
}

// MaxResponse bounds how much of a response Target.Send reads.
const MaxResponse = 1 << 20

// Check reports how resp falls short of what c allows: a code outside
// Want, or an error answer that is not a Kubernetes Status of that code
// (kind Status, apiVersion v1, status Failure).
func (c Case) Check(resp Response) error {
	if !slices.Contains(c.Want, resp.Code) {
		return fmt.Errorf("status %d, want one of %v: %s", resp.Code, c.Want, abbreviate(string(resp.Body), 400))
	}
	return CheckStatus(resp)
}

// CheckStatus checks that an error answer (4xx or 5xx) is a Kubernetes
// Status of its code served as JSON; other answers pass.
func CheckStatus(resp Response) error {
	if resp.Code < 400 {
		return nil
	}
	if !strings.HasPrefix(resp.ContentType, "application/json") {
		return fmt.Errorf("status %d with Content-Type %q, want application/json: %s", resp.Code, resp.ContentType, abbreviate(string(resp.Body), 200))
	}
	var st struct {
		Kind, APIVersion, Status string
		Code                     int
	}
	if err := json.Unmarshal(resp.Body, &st); err != nil {
		return fmt.Errorf("status %d body is not JSON (%v): %s", resp.Code, err, abbreviate(string(resp.Body), 200))
	}
	if st.Kind != "Status" || st.APIVersion != "v1" || st.Status != "Failure" || st.Code != resp.Code {
		return fmt.Errorf("status %d body is not a v1 Status Failure of that code: %s", resp.Code, abbreviate(string(resp.Body), 200))
	}
	return nil
}

// Body is a request body described rather than held: the concatenation
// of its parts, each a byte string repeated some times. A Body is
// immutable; Reader may be called any number of times.
type Body struct {
	parts []part
	// Chunked sends the body without a Content-Length.
	Chunked bool
}

type part struct {
	b []byte
	n int64 // repetitions of b
}

// Bytes returns a body holding b.
func Bytes(b []byte) Body { return Body{}.Append(b) }

// String returns a body holding s.
func String(s string) Body { return Bytes([]byte(s)) }

// Append returns the body followed by b.
func (b Body) Append(p []byte) Body { return b.Repeat(p, 1) }

// Repeat returns the body followed by n copies of p.
func (b Body) Repeat(p []byte, n int64) Body {
	if len(p) == 0 || n <= 0 {
		return b
	}
	b.parts = append(slices.Clip(b.parts), part{b: p, n: n})
	return b
}

// Len is the body's length in bytes.
func (b Body) Len() int64 {
	var n int64
	for _, p := range b.parts {
		n += int64(len(p.b)) * p.n
	}
	return n
}

// Reader returns a reader of the body that generates the repetitions as
// it is read.
func (b Body) Reader() io.Reader {
	rs := make([]io.Reader, 0, len(b.parts))
	for _, p := range b.parts {
		if p.n == 1 {
			rs = append(rs, bytes.NewReader(p.b))
		} else {
			rs = append(rs, &repeatReader{p: p.b, left: int64(len(p.b)) * p.n})
		}
	}
	return io.MultiReader(rs...)
}

// Head returns the body's first n bytes (fewer if it is shorter).
func (b Body) Head(n int) []byte {
	out, _ := io.ReadAll(io.LimitReader(b.Reader(), int64(n)))
	return out
}

// repeatReader reads p over and over, left bytes in all.
type repeatReader struct {
	p    []byte
	off  int
	left int64
}

func (r *repeatReader) Read(buf []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(buf)) > r.left {
		buf = buf[:r.left]
	}
	n := 0
	for n < len(buf) {
		c := copy(buf[n:], r.p[r.off:])
		n += c
		r.off = (r.off + c) % len(r.p)
	}
	r.left -= int64(n)
	return n, nil
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("…(%d bytes)", len(s))
}
