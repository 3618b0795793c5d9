package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/skiffhq/skiff/config"
	"github.com/spf13/cobra"
)

// operatorPath is the prefix of the operator API.
const operatorPath = "/skiff/v1/operator"

// jsonTimeout bounds one JSON request of a client command; snapshot
// transfers are bounded only by the command's context.
const jsonTimeout = 30 * time.Second

// apiClient speaks HTTP to one server's API.
type apiClient struct {
	base  string // e.g. http://127.0.0.1:7443
	token string
	http  *http.Client
}

// addClientFlags registers --server, --token and --config on a command
// group; its subcommands build their client with newAPIClient.
func addClientFlags(cmd *cobra.Command) {
	config.ClientFlags(cmd.PersistentFlags())
	cmd.PersistentFlags().String("config", "", "server configuration file to take the API address and token from")
}

func newAPIClient(cmd *cobra.Command, e env) (*apiClient, error) {
	configPath, err := cmd.Flags().GetString("config")
	if err != nil {
		return nil, err
	}
	c, err := config.LoadClient(configPath, cmd.Flags(), e.environ)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", c.CAFile)
		}
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	return &apiClient{base: c.Server, token: c.Token, http: hc}, nil
}

// status is a Kubernetes-style Status, the body of every error response.
type status struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Status     string `json:"status"`
	Message    string `json:"message"`
	Reason     string `json:"reason"`
	Code       int    `json:"code"`
}

// statusError is an error response from the server.
type statusError struct {
	status
}

func (e *statusError) Error() string { return e.Message }

// do sends req with the bearer token and returns the response if its status
// is 2xx. Otherwise it returns a *statusError carrying the server's message,
// or an error saying what went wrong and which URL could not be reached.
func (c *apiClient) do(req *http.Request) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, ctxErr)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach server at %s (set --server or SKIFF_SERVER): %w", c.base, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var st status
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" && st.Message != "" {
		return nil, &statusError{st}
	}
	msg := fmt.Sprintf("%s %s: %s", req.Method, req.URL, resp.Status)
	if text := strings.TrimSpace(string(body)); text != "" {
		if len(text) > 200 {
			text = text[:200] + "..."
		}
		msg += ": " + text
	}
	return nil, errors.New(msg)
}

// doJSON sends in (if not nil) as JSON to path and decodes the JSON response
// into out.
func (c *apiClient) doJSON(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, jsonTimeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode response of %s %s: %w", method, req.URL, err)
	}
	return nil
}
