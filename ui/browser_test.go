package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/testcluster"
)

// requireBrowserEnv turns a missing Chromium from a skip into a failure;
// CI sets it.
const requireBrowserEnv = "SKIFF_REQUIRE_BROWSER"

// screenshotsEnv names a directory to write screenshots of the main pages
// into (docs/images when refreshing the docs' pictures).
const screenshotsEnv = "SKIFF_UI_SCREENSHOTS"

// browser is one headless Chromium tab, recording every JavaScript error
// the page reports.
type browser struct {
	t      testing.TB
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv(requireBrowserEnv) == "1" {
			t.Fatalf("chromium not found and %s=1: %v", requireBrowserEnv, err)
		}
		t.Skipf("chromium not found (apt-get install chromium, or make deps); skipping: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		// The cluster's CA is private to the test.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Listen(ctx, b.record); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// record keeps the page's JavaScript errors: uncaught exceptions,
// console.error, and browser log errors other than failed loads (a 503
// during an election is the network's, not the page's).
func (b *browser) record(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value))
			}
			msg = "console.error: " + strings.Join(parts, " ")
		}
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError && e.Entry.Source != log.EntrySourceNetwork {
			msg = "log: " + string(e.Entry.Source) + ": " + e.Entry.Text
		}
	}
	if msg != "" {
		b.mu.Lock()
		b.errors = append(b.errors, msg)
		b.mu.Unlock()
	}
}

func (b *browser) checkNoErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errors) > 0 {
		b.t.Fatalf("the page reported JavaScript errors:\n%s", strings.Join(b.errors, "\n"))
	}
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\n%s", what, err, b.where())
	}
}

// navigate loads url, and loads it again when Chromium gave the load up
// because the host's network changed (net::ERR_NETWORK_CHANGED): Chromium
// drops its requests whenever an interface comes or goes, which workers'
// pod networks and other tests on the machine do at any time.
func (b *browser) navigate(what, url string) {
	b.t.Helper()
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		err := chromedp.Do(ctx, chromedp.Navigate(url))
		cancel()
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") || try == 3 {
			b.t.Fatalf("%s: %v\n%s", what, err, b.where())
		}
		b.t.Logf("%s: %v; loading again", what, err)
	}
}

// waitTrue polls a JavaScript expression until it is true.
func (b *browser) waitTrue(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(25*time.Second))); err != nil {
		b.t.Fatalf("%s: waiting for %s: %v\n%s", what, expr, err, b.where())
	}
}

// where describes the page for a failure message.
func (b *browser) where() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 2000)`))
	if err != nil {
		return "(page unreadable: " + err.Error() + ")"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return "page: " + v + "\nerrors: " + strings.Join(b.errors, "\n")
}

func (b *browser) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browser) screenshot(name string) {
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn signs in at base with token.
func (b *browser) signIn(base, token string) {
	b.t.Helper()
	b.navigate("sign-in page", base+"/ui/")
	b.do("sign in",
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("#who")),
	)
	b.waitTrue("signed in", `document.querySelector("#who").textContent.length > 0`)
}

// xssPayload would run script if any field were rendered as HTML.
const xssPayload = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2"><b>bold</b>`

func TestDashboard(t *testing.T) {
	b := newBrowser(t)
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The page is served by a follower, so that killing the leader later
	// does not take the page's own server away.
	page := (leader + 1) % c.N()
	base := c.URL(page)
	kc, err := kubernetes.NewForConfig(c.RestConfig(page))
	if err != nil {
		t.Fatal(err)
	}
	_, err = kc.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "xss", Annotations: map[string]string{"note": xssPayload}},
		Data:       map[string]string{"page": xssPayload},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kc.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db"}, StringData: map[string]string{"password": "hunter2-" + xssPayload},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	b.signIn(base, c.AdminToken())
	if who := b.eval(`document.querySelector("#who").textContent`); !strings.Contains(who, "admin") {
		t.Fatalf("signed in as %q, want admin", who)
	}

	// The cluster page: three servers, one leader.
	b.waitTrue("servers listed", `[...document.querySelectorAll("main section:first-of-type tbody tr")].length === 3 &&
		[...document.querySelectorAll("main section:first-of-type tbody tr")].filter(r => r.children[2].textContent === "leader").length === 1`)
	b.screenshot("dashboard-cluster")

	// Deploy through the form.
	b.do("deploy form",
		chromedp.Navigate(base+"/ui/#/deploy"),
		chromedp.WaitVisible(chromedp.CSS("#deploy-name")),
		chromedp.SendKeys(chromedp.CSS("#deploy-name"), "web"),
		chromedp.SendKeys(chromedp.CSS("#deploy-image"), "skiff.test/serve:v1"),
		chromedp.SetValue(chromedp.CSS("#deploy-replicas"), "2"),
		chromedp.SendKeys(chromedp.CSS("#deploy-port"), "8080"),
		chromedp.Click(chromedp.CSS("#deploy-expose")),
		chromedp.Click(chromedp.CSS(`#deploy-form button[type="submit"]`)),
	)
	b.waitTrue("deployment page", `location.hash === "#/deployment/default/web"`)
	if err := c.WaitFor(ctx, func() bool {
		d, err := kc.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		_, serr := kc.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
		return err == nil && *d.Spec.Replicas == 2 && serr == nil
	}); err != nil {
		t.Fatalf("the form did not create deployment and service web: %v", err)
	}

	// Deploy through YAML: two documents.
	manifest := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n  ports:\n  - port: 99999\n"
	b.do("apply yaml",
		chromedp.Navigate(base+"/ui/#/deploy"),
		chromedp.WaitVisible(chromedp.CSS("#yaml")),
		chromedp.SetValue(chromedp.CSS("#yaml"), manifest),
		chromedp.Click(chromedp.CSS("#apply")),
	)
	b.waitTrue("apply results", `document.querySelectorAll("#apply-results tbody tr").length === 2`)
	if got := b.eval(`document.querySelector("#apply-results tbody tr:nth-child(1)").textContent`); !strings.Contains(got, "applied") {
		t.Fatalf("first document: %q, want applied", got)
	}
	if got := b.eval(`document.querySelector("#apply-results tbody tr:nth-child(2)").textContent`); !strings.Contains(got, "spec.ports[0].port") {
		t.Fatalf("second document: %q, want the error at spec.ports[0].port", got)
	}
	if _, err := kc.CoreV1().ConfigMaps("default").Get(ctx, "from-yaml", metav1.GetOptions{}); err != nil {
		t.Fatalf("applied config map: %v", err)
	}

	// Workloads: live lists, fields shown as text, scale.
	b.navigate("workloads", base+"/ui/#/workloads")
	b.waitTrue("deployment listed", `[...document.querySelectorAll("a")].some(a => a.textContent === "web")`)
	b.waitTrue("config map listed", `document.body.textContent.includes("from-yaml")`)
	created := time.Now()
	if _, err := kc.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "live-update"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b.waitTrue("live update", `document.body.textContent.includes("live-update")`)
	t.Logf("a new object appeared on the page %v after its create returned", time.Since(created).Round(time.Millisecond))
	if got := b.eval(`String(window.__xss)`); got != "undefined" {
		t.Fatalf("an object's field ran as script: window.__xss = %s", got)
	}
	if strings.Contains(b.eval(`document.documentElement.outerHTML`), "hunter2") {
		t.Fatal("a secret value is in the page before anyone asked for it")
	}
	b.screenshot("dashboard-workloads")
	b.do("scale",
		chromedp.SetValue(chromedp.CSS(`input[aria-label="replicas"]`), "3"),
		chromedp.Click(chromedp.CSS(`input[aria-label="replicas"] + button`)),
	)
	if err := c.WaitFor(ctx, func() bool {
		d, err := kc.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		return err == nil && *d.Spec.Replicas == 3
	}); err != nil {
		t.Fatalf("scale from the page did not reach the API: %v", err)
	}

	// Kill the leader: the page keeps working and shows the new one.
	b.navigate("cluster page", base+"/ui/#/cluster")
	b.waitTrue("servers listed", `[...document.querySelectorAll("main section:first-of-type tbody tr")].length === 3`)
	oldLeader := c.Config(leader).Name
	c.KillServer(leader)
	b.waitTrue("new leader shown", fmt.Sprintf(`(() => { const rows = [...document.querySelectorAll("main section:first-of-type tbody tr")];
		const l = rows.find(r => r.children[2].textContent === "leader"); return !!l && l.children[0].textContent !== %q; })()`, oldLeader))
	b.waitTrue("quorum warning", `document.querySelector("#banner").textContent.includes("Quorum at risk")`)
	b.screenshot("dashboard-leader-killed")

	// Sign out.
	b.do("sign out", chromedp.Click(chromedp.CSS(`#logout button`)), chromedp.WaitVisible(chromedp.CSS("#token")))
	if code := b.eval(`fetch("/ui/session").then(r => String(r.status))`); code != "401" {
		t.Fatalf("after sign-out /ui/session answered %s, want 401", code)
	}
	b.checkNoErrors()

	// A one-time sign-in link (what skiff dashboard prints) works once,
	// and leaves no code in the address bar.
	code, body, err := c.Do(ctx, page, http.MethodPost, "/ui/links", nil)
	var link struct {
		Path string `json:"path"`
	}
	if err != nil || code != http.StatusOK || json.Unmarshal(body, &link) != nil || !strings.HasPrefix(link.Path, "/ui/login?code=") {
		t.Fatalf("POST /ui/links: %d %s %v", code, body, err)
	}
	b.do("sign in with the link", chromedp.Navigate(base+link.Path), chromedp.WaitVisible(chromedp.CSS("#who")))
	b.waitTrue("signed in by link", `document.querySelector("#who").textContent.includes("admin") && !location.href.includes("code=")`)
	b.do("sign out", chromedp.Click(chromedp.CSS(`#logout button`)), chromedp.WaitVisible(chromedp.CSS("#token")))
	b.do("reuse the link", chromedp.Navigate(base+link.Path), chromedp.WaitVisible(chromedp.CSS("#error")))
	if got := b.eval(`document.querySelector("#error").textContent`); !strings.Contains(got, "already used") {
		t.Fatalf("a reused link: %q, want it refused", got)
	}

	// A read-only user sees no controls, and the server refuses them anyway.
	ro := readOnlyToken(t, ctx, c, page)
	b.signIn(base, ro)
	b.navigate("workloads as read-only", base+"/ui/#/workloads")
	b.waitTrue("deployment listed", `[...document.querySelectorAll("a")].some(a => a.textContent === "web")`)
	if n := b.eval(`String(document.querySelectorAll("main button").length)`); n != "0" {
		t.Fatalf("a read-only user sees %s buttons on the workloads page", n)
	}
	if vis := b.eval(`String(getComputedStyle(document.querySelector('nav a[href="#/deploy"]')).display)`); vis != "none" {
		t.Fatalf("the Deploy link is shown to a read-only user (display %s)", vis)
	}
	status := b.eval(`fetch("/ui/session").then(r => r.json()).then(s => fetch("/ui/api/apis/apps/v1/namespaces/default/deployments/web", {method: "DELETE", headers: {"X-CSRF-Token": s.csrf}})).then(r => String(r.status))`)
	if status != "403" {
		t.Fatalf("a read-only user's delete through the dashboard answered %s, want 403", status)
	}
	// Without the CSRF token a mutating request never reaches the API.
	if code := b.eval(`fetch("/ui/api/api/v1/namespaces/default/configmaps/xss", {method: "DELETE"}).then(r => String(r.status))`); code != "403" {
		t.Fatalf("a delete without the CSRF token answered %s, want 403", code)
	}
	b.checkNoErrors()
}

// readOnlyToken issues a read-only token through server i's operator API.
func readOnlyToken(t *testing.T, ctx context.Context, c *testcluster.Cluster, i int) string {
	t.Helper()
	code, body, err := c.Do(ctx, i, http.MethodPost, "/skiff/v1/operator/tokens", strings.NewReader(`{"role":"read-only","description":"dashboard test"}`))
	if err != nil || code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("create read-only token: %d %s %v", code, body, err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.Token == "" {
		t.Fatalf("token answer %s: %v", body, err)
	}
	return tok.Token
}
