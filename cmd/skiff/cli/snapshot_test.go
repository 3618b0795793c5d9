package cli

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const snapshotPath = "GET /skiff/v1/operator/snapshot"

func TestSnapshotSave(t *testing.T) {
	data := bytes.Repeat([]byte("snapshot-bytes "), 1000)
	api := newFakeAPI(t, map[string]http.HandlerFunc{snapshotPath: func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Skiff-Revision", "42")
		w.Write(data)
	}})
	file := filepath.Join(t.TempDir(), "backup.snap")
	r := runCLI(t, nil, "snapshot", "save", file, "--server", api.URL, "--token", "tok")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if want := "saved " + file + " (" + strconv.Itoa(len(data)) + " bytes, revision 42)\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	got, err := os.ReadFile(file)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file holds %d bytes (err %v), want the %d downloaded", len(got), err, len(data))
	}
	if _, err := os.Stat(file + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("%s.tmp left behind: %v", file, err)
	}
	if auth := api.requests()[0].auth; auth != "Bearer tok" {
		t.Errorf("Authorization %q", auth)
	}
}

// TestSnapshotSaveFailureLeavesNoFile checks that a failed download neither
// creates FILE nor replaces an existing one, and removes FILE.tmp.
func TestSnapshotSaveFailureLeavesNoFile(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string
	}{
		{
			name:    "error status",
			handler: statusReply(http.StatusServiceUnavailable, "ServiceUnavailable", "no leader"),
			wantErr: "skiff: no leader\n",
		},
		{
			name: "connection lost mid-download",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", "100000")
				w.Write([]byte("only the beginning"))
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler) // drop the connection
			},
			wantErr: "skiff: download snapshot from ",
		},
	}
	for _, tt := range tests {
		for _, existing := range []bool{false, true} {
			name := tt.name
			if existing {
				name += ", file exists"
			}
			t.Run(name, func(t *testing.T) {
				api := newFakeAPI(t, map[string]http.HandlerFunc{snapshotPath: tt.handler})
				file := filepath.Join(t.TempDir(), "backup.snap")
				if existing {
					if err := os.WriteFile(file, []byte("older snapshot"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				r := runCLI(t, nil, "snapshot", "save", file, "--server", api.URL)
				if r.code != 1 || !strings.HasPrefix(r.stderr, tt.wantErr) {
					t.Fatalf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tt.wantErr)
				}
				got, err := os.ReadFile(file)
				switch {
				case existing && string(got) != "older snapshot":
					t.Errorf("existing file changed to %q (err %v)", got, err)
				case !existing && !os.IsNotExist(err):
					t.Errorf("partial file %s exists: %v", file, err)
				}
				if _, err := os.Stat(file + ".tmp"); !os.IsNotExist(err) {
					t.Errorf("%s.tmp left behind: %v", file, err)
				}
			})
		}
	}
}

func TestSnapshotRestore(t *testing.T) {
	data := []byte("a snapshot\x00with binary\xff")
	file := filepath.Join(t.TempDir(), "backup.snap")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		file     string
		handler  http.HandlerFunc
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"restored", file, jsonReply(200, `{"revision":77}`), 0, "restored " + file + " at revision 77\n", ""},
		{"refused", file, statusReply(http.StatusConflict, "Conflict", "a restore is already running"), 1, "",
			"skiff: a restore is already running\n"},
		{"no revision in reply", file, jsonReply(200, `{}`), 1, "", "has no revision"},
		{"missing file", file + ".nope", nil, 1, "", "restore snapshot: open "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes := map[string]http.HandlerFunc{}
			if tt.handler != nil {
				routes["PUT /skiff/v1/operator/snapshot"] = tt.handler
			}
			api := newFakeAPI(t, routes)
			r := runCLI(t, []string{"SKIFF_SERVER=" + api.URL, "SKIFF_TOKEN=tok"}, "snapshot", "restore", tt.file)
			if r.code != tt.wantCode || r.stdout != tt.wantOut || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("got exit %d, stdout %q, stderr %q; want %d, %q, %q",
					r.code, r.stdout, r.stderr, tt.wantCode, tt.wantOut, tt.wantErr)
			}
			reqs := api.requests()
			if tt.handler == nil {
				if len(reqs) != 0 {
					t.Errorf("sent %d requests, want none", len(reqs))
				}
				return
			}
			got := reqs[0]
			if !bytes.Equal(got.body, data) || got.contentType != "application/octet-stream" || got.auth != "Bearer tok" {
				t.Errorf("request body %q, Content-Type %q, Authorization %q", got.body, got.contentType, got.auth)
			}
		})
	}
}

// TestSnapshotSaveStreams checks that save does not buffer the snapshot: the
// server sends more than it would be reasonable to hold, in pieces.
func TestSnapshotSaveStreams(t *testing.T) {
	const size = 8 << 20
	api := newFakeAPI(t, map[string]http.HandlerFunc{snapshotPath: func(w http.ResponseWriter, _ *http.Request) {
		io.Copy(w, io.LimitReader(zeros{}, size))
	}})
	file := filepath.Join(t.TempDir(), "big.snap")
	r := runCLI(t, nil, "snapshot", "save", file, "--server", api.URL)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if fi, err := os.Stat(file); err != nil || fi.Size() != size {
		t.Fatalf("stat %s: %v, %v", file, fi, err)
	}
	if !strings.Contains(r.stdout, "revision unknown") {
		t.Errorf("stdout %q, want the missing revision reported as unknown", r.stdout)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
