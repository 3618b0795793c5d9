package cli

import (
	"io"
	"strings"
	"testing"
)

func TestUploadProgressLine(t *testing.T) {
	for _, tc := range []struct {
		name        string
		total, read int64
		want        string
	}{
		{"start", 120 << 20, 0, "uploading app.tar to node w1: 0 B of 120.0 MiB (0%)"},
		{"part way", 120 << 20, 34<<20 + 512<<10, "uploading app.tar to node w1: 34.5 MiB of 120.0 MiB (28%)"},
		{"big", 3 << 30, 1 << 30, "uploading app.tar to node w1: 1.0 GiB of 3.0 GiB (33%)"},
		{"sent", 2 << 10, 2 << 10, "uploaded app.tar to node w1; unpacking..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &progressReader{r: strings.NewReader(strings.Repeat("x", int(tc.read))), total: tc.total}
			if _, err := io.Copy(io.Discard, p); err != nil {
				t.Fatal(err)
			}
			if got := p.line("app.tar", "w1"); got != tc.want {
				t.Errorf("line %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDecodeImportResult(t *testing.T) {
	for _, tc := range []struct {
		name, raw, err string
	}{
		{"one image", `{"node":"w1","images":[{"name":"a:v1","digest":"sha256:1"}]}`, ""},
		{"no image", `{"node":"w1","images":[]}`, "imported no image"},
		{"not json", `<html>`, "decode the worker's answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeImportResult([]byte(tc.raw))
			if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("err %v, want %q", err, tc.err)
			}
		})
	}
}
