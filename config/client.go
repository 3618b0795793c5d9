package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
)

// Client is the configuration of the CLI's client commands.
type Client struct {
	// Server is the base URL of a server's API, e.g. http://127.0.0.1:7443,
	// without a trailing slash.
	Server string
	// Token is the bearer token sent with every request; it may be empty.
	Token string
	// CAFile is a PEM file of the CA that signed the server's certificate;
	// empty means the system's roots.
	CAFile string
}

// CAFileName is the name, inside a server's data directory, of the
// cluster CA certificate the server writes.
const CAFileName = "ca.crt"

// DefaultServerURL is the API a client talks to when nothing else is given:
// the one `skiff dev` starts.
const DefaultServerURL = "https://" + DefaultAPIAddr

// ClientFlags registers --server and --token on fs. The caller registers
// --config itself and passes its value to LoadClient.
func ClientFlags(fs *pflag.FlagSet) {
	fs.String("server", "", "URL of a server's API (default: from --config, else "+DefaultServerURL+")")
	fs.String("token", "", "cluster or admin token (default: from --config, else the server's token file)")
	fs.String("ca-file", "", "CA certificate of the cluster (default: ca.crt in the server's data_dir)")
}

// LoadClient resolves the client configuration. The server URL is the first
// of --server, SKIFF_SERVER, "https://"+api_addr of the server configuration
// file at configPath, and DefaultServerURL. The token is the first of
// --token, SKIFF_TOKEN, the token of the configuration file, and the
// contents of the token file in the server's data directory if it exists.
// Without --config the token file of `skiff dev` is read, but only when the
// server URL is the default one, so a local token is never sent elsewhere.
func LoadClient(configPath string, fs *pflag.FlagSet, env []string) (Client, error) {
	envVals := map[string]string{}
	for _, kv := range env {
		if name, val, ok := strings.Cut(kv, "="); ok {
			envVals[name] = val
		}
	}
	flagVal := func(name string) string {
		if fs == nil {
			return ""
		}
		if f := fs.Lookup(name); f != nil && f.Changed {
			return f.Value.String()
		}
		return ""
	}

	var file *Server
	if configPath != "" {
		s, err := LoadServer(configPath, nil, nil)
		if err != nil {
			return Client{}, err
		}
		file = &s
	}

	var c Client
	switch {
	case flagVal("server") != "":
		c.Server = flagVal("server")
	case envVals["SKIFF_SERVER"] != "":
		c.Server = envVals["SKIFF_SERVER"]
	case file != nil:
		c.Server = "https://" + dialAddr(file.APIAddr)
	default:
		c.Server = DefaultServerURL
	}
	u, err := url.Parse(c.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Client{}, fmt.Errorf("server %q: want a URL like %s", c.Server, DefaultServerURL)
	}
	c.Server = strings.TrimSuffix(c.Server, "/")

	switch {
	case flagVal("token") != "":
		c.Token = flagVal("token")
	case envVals["SKIFF_TOKEN"] != "":
		c.Token = envVals["SKIFF_TOKEN"]
	case file != nil && file.Token != "":
		c.Token = file.Token
	default:
		var path string
		switch {
		case file != nil:
			path = file.TokenPath()
		case c.Server == DefaultServerURL:
			path = filepath.Join(DevDataDir, TokenFile)
		}
		if path != "" {
			tok, err := readTokenFile(path)
			if err != nil {
				return Client{}, err
			}
			c.Token = tok
		}
	}
	switch {
	case flagVal("ca-file") != "":
		c.CAFile = flagVal("ca-file")
	case envVals["SKIFF_CA_FILE"] != "":
		c.CAFile = envVals["SKIFF_CA_FILE"]
	case file != nil:
		c.CAFile = filepath.Join(file.DataDir, CAFileName)
	case c.Server == DefaultServerURL:
		c.CAFile = filepath.Join(DevDataDir, CAFileName)
	}
	if c.CAFile != "" {
		if _, err := os.Stat(c.CAFile); os.IsNotExist(err) && flagVal("ca-file") == "" && envVals["SKIFF_CA_FILE"] == "" {
			c.CAFile = ""
		}
	}
	return c, nil
}

// readTokenFile returns the trimmed contents of path, or "" if it does not
// exist.
func readTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// dialAddr turns a listen address into one a client can dial: a server
// listening on all interfaces is reached through loopback.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
