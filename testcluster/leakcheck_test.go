package testcluster_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// secretForm is one way a secret can be written down.
type secretForm struct {
	secret, form, text string
}

// secretSet holds the secrets a test must never find in its output, each
// in the forms a log line or an error could carry it: as is, in hex, as Go
// prints a []byte, and in base64 (standard and URL alphabets) at each of
// the three alignments it can have inside a longer base64 text, such as a
// Secret's data or a whole encoded object.
type secretSet struct {
	forms []secretForm
}

// add registers secret under name. Secrets shorter than 12 bytes would
// match by chance and are refused.
func (s *secretSet) add(t *testing.T, name string, secret []byte) {
	t.Helper()
	if len(secret) < 12 {
		t.Fatalf("secret %s is %d bytes, too short to look for", name, len(secret))
	}
	add := func(form, text string) { s.forms = append(s.forms, secretForm{name, form, text}) }
	add("raw", string(secret))
	add("hex", hex.EncodeToString(secret))
	add("go []byte", strings.Trim(fmt.Sprint(secret), "[]"))
	for _, enc := range []struct {
		name string
		enc  *base64.Encoding
	}{{"base64", base64.StdEncoding}, {"base64url", base64.URLEncoding}} {
		for shift := range 3 {
			// The characters that encode only the secret's bytes, whatever
			// comes before and after it.
			full := enc.enc.EncodeToString(append(make([]byte, shift), secret...))
			from, to := (shift*8+5)/6, (shift+len(secret))*8/6
			add(fmt.Sprintf("%s+%d", enc.name, shift), full[from:to])
		}
	}
}

// newSecret returns a distinctive random value and registers it.
func (s *secretSet) newSecret(t *testing.T, name string) string {
	t.Helper()
	var b [12]byte
	rand.Read(b[:])
	v := "leak-" + hex.EncodeToString(b[:])
	s.add(t, name, []byte(v))
	return v
}

// find returns the forms of the secrets that text holds.
func (s *secretSet) find(text []byte) []secretForm {
	var out []secretForm
	for _, f := range s.forms {
		if bytes.Contains(text, []byte(f.text)) {
			out = append(out, f)
		}
	}
	return out
}

// check reports every secret found in text, which came from where.
func (s *secretSet) check(t *testing.T, where string, text []byte) {
	t.Helper()
	for _, f := range s.find(text) {
		i := bytes.Index(text, []byte(f.text))
		ctx := text[max(0, i-160):min(len(text), i+len(f.text)+160)]
		ctx = bytes.ReplaceAll(ctx, []byte(f.text), []byte("«"+f.secret+"»"))
		t.Errorf("%s holds %s (%s): ...%s...", where, f.secret, f.form, ctx)
	}
}

// lockedBuffer is an io.Writer that many servers' loggers share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// exchange is one HTTP response a test received.
type exchange struct {
	method, path string
	code         int
	header       http.Header
	body         []byte
}

// exchangeLog records every response that passes through its transports.
type exchangeLog struct {
	mu  sync.Mutex
	all []exchange
}

// wrap returns rt recording into l; it fits rest.Config.WrapTransport.
func (l *exchangeLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return recordingTransport{rt, l}
}

func (l *exchangeLog) exchanges() []exchange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]exchange(nil), l.all...)
}

type recordingTransport struct {
	rt  http.RoundTripper
	log *exchangeLog
}

func (r recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.log.mu.Lock()
	r.log.all = append(r.log.all, exchange{req.Method, req.URL.Path, resp.StatusCode, resp.Header.Clone(), body})
	r.log.mu.Unlock()
	return resp, nil
}

// TestSecretSetFinds checks the leak detector itself: it must find a
// secret however it is written into a log line or an object, and nothing
// in text that lacks it.
func TestSecretSetFinds(t *testing.T) {
	var s secretSet
	v := s.newSecret(t, "value")
	for _, tc := range []struct {
		name string
		text string
		want bool
	}{
		{"raw in a log line", `level=DEBUG msg="decode" value=` + v, true},
		{"quoted", fmt.Sprintf("%q", v), true},
		{"as a Go []byte", fmt.Sprintf("cmd=%v", []byte(v)), true},
		{"hex", fmt.Sprintf("%x", v), true},
		{"base64", base64.StdEncoding.EncodeToString([]byte(v)), true},
		{"base64 after 1 byte", base64.StdEncoding.EncodeToString([]byte("x" + v + "y")), true},
		{"base64 after 2 bytes", base64.StdEncoding.EncodeToString([]byte(`{"` + v)), true},
		{"base64url after 4 bytes", base64.URLEncoding.EncodeToString([]byte("abcd" + v)), true},
		{"a Secret's JSON", fmt.Sprintf(`{"data":{"k":%q}}`, base64.StdEncoding.EncodeToString([]byte(v))), true},
		{"another value", "leak-" + strings.Repeat("0", 24), false},
		{"a prefix of it", v[:len(v)-4], false},
	} {
		if got := len(s.find([]byte(tc.text))) > 0; got != tc.want {
			t.Errorf("%s: found %v, want %v", tc.name, got, tc.want)
		}
	}
}
