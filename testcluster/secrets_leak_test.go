package testcluster_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"github.com/skiffhq/skiff/api/skiffv1"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/gossip"
	"github.com/skiffhq/skiff/server"
	"github.com/skiffhq/skiff/testcluster"
)

// leakClient sends raw requests to a cluster's servers and records every
// answer.
type leakClient struct {
	t    *testing.T
	ctx  context.Context
	c    *testcluster.Cluster
	http *http.Client
}

// do sends body to server i with token and returns the status code and
// answer.
func (l leakClient) do(i int, method, path, token, contentType, body string) (int, []byte) {
	l.t.Helper()
	req, err := http.NewRequestWithContext(l.ctx, method, l.c.URL(i)+path, strings.NewReader(body))
	if err != nil {
		l.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := l.http.Do(req)
	if err != nil {
		l.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// expect sends a request and fails the test unless it is answered with
// code.
func (l leakClient) expect(code, i int, method, path, token, contentType, body string) []byte {
	l.t.Helper()
	got, b := l.do(i, method, path, token, contentType, body)
	if got != code {
		l.t.Errorf("%s %s: %d %s, want %d", method, path, got, b, code)
	}
	return b
}

// waitFor repeats a request without a body until it is answered with code,
// as a token becomes valid or revoked on each server when the server has
// applied the change.
func (l leakClient) waitFor(code, i int, method, path, token string) {
	l.t.Helper()
	var got int
	if err := testcluster.WaitFor(l.ctx, func() bool { got, _ = l.do(i, method, path, token, "", ""); return got == code }); err != nil {
		l.t.Fatalf("%s %s on server %d: last %d, want %d: %v", method, path, i, got, code, err)
	}
}

// wantAPIError fails the test unless err is an API error that is checks.
func wantAPIError(t *testing.T, what string, err error, is func(error) bool) {
	t.Helper()
	if err == nil || !is(err) {
		t.Errorf("%s: %v, want a different API error", what, err)
	}
}

// TestSecretsNeverLeak runs a cluster whose servers log at debug level,
// and drives it through what handles secrets: bootstrap, Secrets created
// with data and stringData, updated, patched and deleted through client-go,
// requests carrying secrets that the API refuses, token creation, listing
// and revocation, node registration, and failed authentication with
// tokens one character off the real ones. None of the Secrets' values,
// the cluster and admin tokens, the tokens issued, the wrong tokens, the
// gossip key or the cluster CA's private key may then appear in the logs,
// in any server's /metrics, in Events, or in any error answer or Warning
// header.
func TestSecretsNeverLeak(t *testing.T) {
	logs := &lockedBuffer{}
	c := testcluster.Start(t, testcluster.Options{
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	ctx := testContext(t, 120*time.Second)
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f1, f2 := (leader+1)%3, (leader+2)%3
	var secrets secretSet
	secrets.add(t, "cluster token", []byte(c.Token()))
	secrets.add(t, "admin token", []byte(c.AdminToken()))
	secrets.add(t, "gossip key", gossip.KeyFromToken(c.Token()))
	addCAKey(t, c, &secrets)

	answers := &exchangeLog{}
	kc := make([]kubernetes.Interface, c.N())
	for i := range kc {
		cfg := c.RestConfig(i)
		cfg.WrapTransport = answers.wrap
		if kc[i], err = kubernetes.NewForConfig(cfg); err != nil {
			t.Fatal(err)
		}
	}
	hc := c.HTTPClient()
	hc.Transport = answers.wrap(hc.Transport)
	defer hc.CloseIdleConnections()
	l := leakClient{t: t, ctx: ctx, c: c, http: hc}

	ns := kubeNamespace(t, ctx, kc[f1])
	secretCRUD(t, ctx, kc, ns, leader, f1, f2, &secrets)
	secretBadRequests(t, l, ns, leader, f1, &secrets)
	tokenLifecycle(t, l, f1, f2, &secrets)

	// Scan what the servers said and wrote.
	for i := range c.N() {
		body := l.expect(http.StatusOK, i, "GET", "/metrics", c.AdminToken(), "", "")
		if !strings.Contains(string(body), "apiserver_request_total") || !strings.Contains(string(body), "skiff_raft_log_file_bytes") {
			t.Errorf("server %d: /metrics lacks the API and Raft figures", i)
		}
		secrets.check(t, fmt.Sprintf("server %d's /metrics", i), body)
	}
	events, err := kc[leader].CoreV1().Events("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eb, _ := json.Marshal(events)
	secrets.check(t, "the Events", eb)
	var refused int
	for _, x := range answers.exchanges() {
		where := fmt.Sprintf("the answer %d to %s %s", x.code, x.method, x.path)
		for _, w := range x.header.Values("Warning") {
			secrets.check(t, where+" (Warning header)", []byte(w))
		}
		if x.code >= 400 {
			refused++
			secrets.check(t, where, x.body)
		}
	}
	if refused < 30 {
		t.Errorf("only %d refused requests were recorded", refused)
	}
	out := logs.Bytes()
	if !strings.Contains(string(out), "level=DEBUG") || !strings.Contains(string(out), "became leader") {
		t.Fatalf("the servers' logs (%d bytes) lack debug lines", len(out))
	}
	secrets.check(t, "the servers' logs", out)
}

// addCAKey registers the cluster CA's private key, read from the store.
func addCAKey(t *testing.T, c *testcluster.Cluster, secrets *secretSet) {
	t.Helper()
	kv, ok, _ := c.Server(0).Replica().Store().Get("/registry/skiff.io/pki/ca")
	var ca struct {
		Key []byte `json:"key"`
	}
	if !ok || json.Unmarshal(kv.Value, &ca) != nil {
		t.Fatal("no cluster CA in the store")
	}
	block, _ := pem.Decode(ca.Key)
	if block == nil {
		t.Fatalf("the CA key is not PEM")
	}
	secrets.add(t, "CA private key", block.Bytes)
}

// secretCRUD creates, reads, updates, patches and deletes Secrets through
// client-go, on the leader and on followers, with the requests that fail
// on the way: a stale update, a failed JSON patch test, changes to an
// immutable Secret and to a Secret's type, and invalid Secrets.
func secretCRUD(t *testing.T, ctx context.Context, kc []kubernetes.Interface, ns string, leader, f1, f2 int, secrets *secretSet) {
	t.Helper()
	s1 := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s1"},
		Data:       map[string][]byte{"password": []byte(secrets.newSecret(t, "data password"))},
		StringData: map[string]string{"api-key": secrets.newSecret(t, "stringData api-key")},
	}
	created, err := kc[f1].CoreV1().Secrets(ns).Create(ctx, s1, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tlsSecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "tls"},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       []byte(secrets.newSecret(t, "tls.crt")),
			corev1.TLSPrivateKeyKey: []byte(secrets.newSecret(t, "tls.key")),
		},
	}
	if _, err := kc[leader].CoreV1().Secrets(ns).Create(ctx, tlsSecret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := kc[f2].CoreV1().Secrets(ns).Get(ctx, "s1", metav1.GetOptions{})
	if err != nil || string(got.Data["api-key"]) != s1.StringData["api-key"] {
		t.Fatalf("get s1: %v, data %d keys", err, len(got.Data))
	}
	got.Data["password"] = []byte(secrets.newSecret(t, "updated password"))
	if _, err := kc[f2].CoreV1().Secrets(ns).Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	created.Data["password"] = []byte(secrets.newSecret(t, "conflicting password"))
	_, err = kc[leader].CoreV1().Secrets(ns).Update(ctx, created, metav1.UpdateOptions{})
	wantAPIError(t, "stale update", err, apierrors.IsConflict)
	merge := fmt.Sprintf(`{"stringData":{"patched":%q}}`, secrets.newSecret(t, "merge-patched value"))
	if _, err := kc[f1].CoreV1().Secrets(ns).Patch(ctx, "s1", types.MergePatchType, []byte(merge), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	wrong := base64.StdEncoding.EncodeToString([]byte(secrets.newSecret(t, "guessed password")))
	test := fmt.Sprintf(`[{"op":"test","path":"/data/password","value":%q}]`, wrong)
	_, err = kc[f1].CoreV1().Secrets(ns).Patch(ctx, "s1", types.JSONPatchType, []byte(test), metav1.PatchOptions{})
	wantAPIError(t, "failed JSON patch test", err, func(err error) bool { return apierrors.ReasonForError(err) != metav1.StatusReasonUnknown })

	yes := true
	imm, err := kc[leader].CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "immutable"},
		Immutable:  &yes,
		Data:       map[string][]byte{"k": []byte(secrets.newSecret(t, "immutable value"))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	imm.Data["k"] = []byte(secrets.newSecret(t, "immutable update"))
	_, err = kc[f1].CoreV1().Secrets(ns).Update(ctx, imm, metav1.UpdateOptions{})
	wantAPIError(t, "update of an immutable secret", err, apierrors.IsInvalid)
	retyped, err := kc[f1].CoreV1().Secrets(ns).Get(ctx, "s1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	retyped.Type = corev1.SecretTypeBasicAuth
	_, err = kc[f1].CoreV1().Secrets(ns).Update(ctx, retyped, metav1.UpdateOptions{})
	wantAPIError(t, "type change", err, apierrors.IsInvalid)

	for _, bad := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "docker"}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(secrets.newSecret(t, "docker config that is not JSON"))}},
		{ObjectMeta: metav1.ObjectMeta{Name: "badkey"}, Data: map[string][]byte{"bad key!": []byte(secrets.newSecret(t, "value under a bad key"))}},
		{ObjectMeta: metav1.ObjectMeta{Name: "Bad_Name"}, StringData: map[string]string{"k": secrets.newSecret(t, "value of a badly named secret")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "big"}, Data: map[string][]byte{"k": []byte(strings.Repeat(secrets.newSecret(t, "oversized value"), 40000))}},
		{ObjectMeta: metav1.ObjectMeta{Name: "basic"}, Type: corev1.SecretTypeBasicAuth, StringData: map[string]string{"token": secrets.newSecret(t, "basic-auth without its keys")}},
	} {
		_, err := kc[f2].CoreV1().Secrets(ns).Create(ctx, bad, metav1.CreateOptions{})
		wantAPIError(t, "create invalid secret "+bad.Name, err, func(err error) bool { return apierrors.IsInvalid(err) || apierrors.IsRequestEntityTooLargeError(err) })
	}
	if err := kc[f2].CoreV1().Secrets(ns).Delete(ctx, "s1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = kc[leader].CoreV1().Secrets(ns).Delete(ctx, "s1", metav1.DeleteOptions{})
	wantAPIError(t, "second delete", err, apierrors.IsNotFound)
}

// secretBadRequests sends Secrets the API cannot decode, or refuses with
// strict field validation, each holding a secret value.
func secretBadRequests(t *testing.T, l leakClient, ns string, leader, f1 int, secrets *secretSet) {
	t.Helper()
	path := "/api/v1/namespaces/" + ns + "/secrets"
	admin := l.c.AdminToken()
	head := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"bad"},`
	const jsonType, yamlType = "application/json", "application/yaml"
	const yamlSecret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bad\n"
	for _, tc := range []struct {
		name, query, contentType, body string
	}{
		{"data not base64", "", jsonType, head + fmt.Sprintf(`"data":{"k":%q}}`, secrets.newSecret(t, "data not in base64")+"!")},
		{"stringData a list", "", jsonType, head + fmt.Sprintf(`"stringData":{"k":[%q]}}`, secrets.newSecret(t, "stringData in a list"))},
		{"stringData a number", "", jsonType, head + fmt.Sprintf(`"stringData":{"k":5,"x":%q}}`, secrets.newSecret(t, "next to a number"))},
		{"truncated", "", jsonType, head + fmt.Sprintf(`"stringData":{"k":"%s`, secrets.newSecret(t, "truncated body"))},
		{"not JSON", "", jsonType, "password=" + secrets.newSecret(t, "form-encoded body")},
		{"bad YAML", "", yamlType, yamlSecret + "stringData:\n  k: [" + secrets.newSecret(t, "unclosed YAML list") + "\n"},
		{"YAML value with an int tag", "", yamlType, yamlSecret + "stringData:\n  k: !!int " + secrets.newSecret(t, "YAML value tagged int") + "\n"},
		{"YAML value with a bool tag", "", yamlType, yamlSecret + "stringData:\n  k: !!bool " + secrets.newSecret(t, "YAML value tagged bool") + "\n"},
		{"YAML null key", "", yamlType, yamlSecret + "stringData:\n  ~: " + secrets.newSecret(t, "YAML value under a null key") + "\n"},
		{"YAML alias", "", yamlType, yamlSecret + "stringData:\n  k: *" + secrets.newSecret(t, "YAML value that reads as an alias") + "\n"},
		{"YAML map as value", "", yamlType, yamlSecret + "stringData:\n  k:\n    " + secrets.newSecret(t, "YAML map key") + ": x\n"},
		{"unknown field, strict", "?fieldValidation=Strict", jsonType, head + fmt.Sprintf(`"dataa":{"k":%q}}`, secrets.newSecret(t, "under an unknown field"))},
		{"duplicate field, strict", "?fieldValidation=Strict", jsonType, head + fmt.Sprintf(`"stringData":{"k":%q},"stringData":{"k":%q}}`, secrets.newSecret(t, "first duplicate"), secrets.newSecret(t, "second duplicate"))},
		{"a ConfigMap", "", jsonType, fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bad"},"data":{"k":%q}}`, secrets.newSecret(t, "ConfigMap posted as a Secret"))},
	} {
		code, body := l.do(f1, "POST", path+tc.query, admin, tc.contentType, tc.body)
		if code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", tc.name, code, body)
		}
	}
	// Accepted with a Warning header that names the unknown field.
	l.expect(http.StatusCreated, leader, "POST", path, admin, jsonType, `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"warned"},`+
		fmt.Sprintf(`"dataa":{"k":%q}}`, secrets.newSecret(t, "under an unknown field, warned")))
	l.expect(http.StatusBadRequest, leader, "PUT", path+"/warned", admin, jsonType, head+fmt.Sprintf(`"stringData":{"k":%q}}`, secrets.newSecret(t, "update naming another secret")))
	l.expect(http.StatusBadRequest, f1, "PATCH", path+"/warned", admin, "application/strategic-merge-patch+json",
		fmt.Sprintf(`{"$patch":"bogus","stringData":{"k":%q}}`, secrets.newSecret(t, "strategic patch with a bad directive")))
	l.expect(http.StatusUnprocessableEntity, f1, "PATCH", path+"/warned", admin, "application/merge-patch+json",
		fmt.Sprintf(`{"type":"kubernetes.io/tls","stringData":{"k":%q}}`, secrets.newSecret(t, "patch to another type")))
}

// tokenLifecycle issues, lists, uses and revokes tokens through the
// operator API, registers a node with the cluster token, and presents
// tokens one character off the real ones.
func tokenLifecycle(t *testing.T, l leakClient, f1, f2 int, secrets *secretSet) {
	t.Helper()
	c := l.c
	admin := c.AdminToken()
	issue := func(i int, body string) server.TokenInfo {
		t.Helper()
		b := l.expect(http.StatusCreated, i, "POST", "/skiff/v1/operator/tokens", admin, "", body)
		var info server.TokenInfo
		if err := json.Unmarshal(b, &info); err != nil || info.Token == "" {
			t.Fatalf("token create answer %s: %v", b, err)
		}
		secrets.add(t, "issued "+string(info.Role)+" token", []byte(info.Token))
		secrets.add(t, "issued "+string(info.Role)+" token's secret", []byte(info.Token[strings.LastIndex(info.Token, ".")+1:]))
		return info
	}
	ro := issue(f1, `{"role":"read-only","description":"dashboards"}`)
	adm := issue(f2, `{"role":"admin"}`)
	list := l.expect(http.StatusOK, f2, "GET", "/skiff/v1/operator/tokens", admin, "", "")
	if !strings.Contains(string(list), ro.ID) {
		t.Errorf("token list %s lacks %s", list, ro.ID)
	}
	secrets.check(t, "the token list", list)
	for _, bad := range []string{`{"role":"` + secrets.newSecret(t, "role name") + `"}`, `{"role":"node"}`, "not json " + secrets.newSecret(t, "token request that is not JSON")} {
		l.expect(http.StatusBadRequest, f1, "POST", "/skiff/v1/operator/tokens", admin, "", bad)
	}
	secretsPath := "/api/v1/namespaces/default/secrets"
	l.waitFor(http.StatusForbidden, f1, "GET", secretsPath, ro.Token)
	l.expect(http.StatusOK, f2, "DELETE", "/skiff/v1/operator/tokens/"+ro.ID, admin, "", "")
	l.expect(http.StatusNotFound, f2, "DELETE", "/skiff/v1/operator/tokens/"+ro.ID, admin, "", "")
	l.waitFor(http.StatusUnauthorized, f1, "GET", "/api/v1/namespaces", ro.Token)

	b := l.expect(http.StatusOK, f1, "POST", "/skiff/v1/nodes/register", c.Token(), "", `{"node":"leak-worker"}`)
	var reg skiffv1.RegisterResponse
	if err := json.Unmarshal(b, &reg); err != nil || reg.Token == "" {
		t.Fatalf("register answer: %v", err)
	}
	secrets.add(t, "node token", []byte(reg.Token))
	l.waitFor(http.StatusOK, f2, "GET", "/api/v1/nodes", reg.Token)
	l.expect(http.StatusBadRequest, f1, "POST", "/skiff/v1/nodes/register", c.Token(), "", `{"node":"`+strings.ToUpper(secrets.newSecret(t, "bad node name"))+`"}`)
	l.expect(http.StatusForbidden, f1, "POST", "/skiff/v1/nodes/register", admin, "", `{"node":"w2"}`)

	for name, real := range map[string]string{"cluster token": c.Token(), "admin token": admin, "issued admin token": adm.Token, "node token": reg.Token} {
		wrong := oneOff(real)
		secrets.add(t, "wrong "+name, []byte(wrong))
		for i, path := range []string{secretsPath, "/skiff/v1/operator/tokens", "/metrics", "/skiff/v1/nodes/register"} {
			method := map[bool]string{true: "POST", false: "GET"}[strings.HasSuffix(path, "register")]
			l.expect(http.StatusUnauthorized, i%c.N(), method, path, wrong, "", `{"node":"w3"}`)
		}
	}
}

// oneOff returns token with its last character changed: a typo of it.
func oneOff(token string) string {
	last := "a"
	if strings.HasSuffix(token, "a") {
		last = "b"
	}
	return token[:len(token)-1] + last
}
