package worker

import (
	"reflect"
	"testing"
)

func TestExpand(t *testing.T) {
	vals := map[string]string{"A": "1", "B": "two"}
	tests := map[string]string{
		"plain":        "plain",
		"$(A)-$(B)":    "1-two",
		"$$(A)":        "$(A)",
		"$(MISSING)":   "$(MISSING)",
		"$(A":          "$(A",
		"x$(A)y$(A)z$": "x1y1z$",
	}
	for in, want := range tests {
		if got := expand(in, vals); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDockerConfig(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []RegistryAuth
		wantErr   bool
	}{
		{"user and password", `{"auths":{"127.0.0.1:5000":{"username":"u","password":"p"}}}`, []RegistryAuth{{"127.0.0.1:5000", "u", "p"}}, false},
		{"auth field", `{"auths":{"https://reg.test/v1/":{"auth":"dTpwOnE="}}}`, []RegistryAuth{{"reg.test", "u", "p:q"}}, false},
		{"bad base64", `{"auths":{"r":{"auth":"!!"}}}`, nil, true},
		{"no colon", `{"auths":{"r":{"auth":"dXNlcg=="}}}`, nil, true},
		{"not json", `nope`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDockerConfig([]byte(tt.doc))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzParseDockerConfig feeds arbitrary secret data to the parser: it
// must never panic.
func FuzzParseDockerConfig(f *testing.F) {
	f.Add([]byte(`{"auths":{"r":{"auth":"dTpw"}}}`))
	f.Add([]byte(`{"auths":{"r":{"username":"u"}}}`))
	f.Add([]byte(`{"auths":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseDockerConfig(b)
	})
}
