package abuse

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// Target is the API server cases are sent to.
type Target struct {
	// BaseURL is the server's URL without a trailing slash.
	BaseURL string
	Client  *http.Client
	// Token, if set, is sent as a bearer token.
	Token string
}

// Send sends req and reads at most MaxResponse bytes of the answer. The
// body is generated as it is sent; a server may answer before reading it
// all.
func (t Target) Send(ctx context.Context, req Request) (Response, error) {
	var body io.Reader
	if req.Body.Len() > 0 {
		body = req.Body.Reader()
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, t.BaseURL+req.Path, body)
	if err != nil {
		return Response{}, fmt.Errorf("%s: %w", req, err)
	}
	if body != nil {
		hr.ContentLength = req.Body.Len()
		if req.Body.Chunked {
			hr.ContentLength = -1
		}
	}
	if req.ContentType != "" {
		hr.Header.Set("Content-Type", req.ContentType)
	}
	if t.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+t.Token)
	}
	resp, err := t.Client.Do(hr)
	if err != nil {
		return Response{}, fmt.Errorf("%s: %w", req, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse))
	if err != nil {
		return Response{}, fmt.Errorf("%s: read answer: %w", req, err)
	}
	return Response{Code: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: b}, nil
}

// Prepare sends c's setup requests, each of which must succeed (2xx).
func (t Target) Prepare(ctx context.Context, c Case) error {
	for _, req := range c.Setup {
		resp, err := t.Send(ctx, req)
		if err != nil {
			return fmt.Errorf("setup of case %d: %w", c.N, err)
		}
		if resp.Code/100 != 2 {
			return fmt.Errorf("setup of case %d: %s: status %d: %s", c.N, req, resp.Code, abbreviate(string(resp.Body), 300))
		}
	}
	return nil
}
