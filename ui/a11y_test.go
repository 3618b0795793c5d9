package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/testcluster"
)

// unlabeled lists the page's visible form controls that have no
// accessible name: no <label for>, no enclosing label, no aria-label, and
// for buttons no text.
const unlabeled = `JSON.stringify([...document.querySelectorAll("input, select, textarea, button")].filter((e) => {
  if (e.type === "hidden" || e.offsetParent === null) return false;
  if (e.getAttribute("aria-label") || e.closest("label")) return false;
  if (e.id && document.querySelector('label[for="' + CSS.escape(e.id) + '"]')) return false;
  return !(e.tagName === "BUTTON" && e.textContent.trim());
}).map((e) => e.outerHTML.slice(0, 120)))`

// overflow describes what sticks out of a phone-width viewport: the
// document scrolling sideways, a visible element of the header or of the
// main view (outside the tables' own scrolling boxes) whose box ends past
// the right edge, or a table row squeezed to many lines.
const overflow = `JSON.stringify((() => {
  const w = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth > w) out.push("document is " + document.documentElement.scrollWidth + "px wide in a " + w + "px viewport");
  for (const e of document.querySelectorAll("header *, main > *, main section > *, .field, form, textarea, pre")) {
    if (e.offsetParent === null || e.closest(".scroll")) continue;
    const r = e.getBoundingClientRect();
    if (r.right > w + 1) out.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " ends at " + Math.round(r.right) + "px");
  }
  // A table squeezed into the screen breaks its words letter by letter;
  // one that keeps its rows a line or two high scrolls sideways instead.
  for (const tr of document.querySelectorAll("tbody tr, .rows > [role=row]")) {
    const h = tr.getBoundingClientRect().height, line = parseFloat(getComputedStyle(tr).lineHeight) || 20;
    if (h > 2.5 * line + 16) { out.push("a table row is " + Math.round(h) + "px high: " + tr.textContent.slice(0, 40)); break; }
  }
  return out;
})())`

// TestDashboardAtPhoneWidth loads every page in a 375 px wide mobile
// viewport and checks that nothing but the tables' own scrolling boxes is
// wider than the screen, and that every control is labelled.
func TestDashboardAtPhoneWidth(t *testing.T) {
	b := newBrowser(t)
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kc, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	seedScale(t, ctx, kc, 3, 12)
	pod, err := kc.CoreV1().Pods("team-1").Get(ctx, benchPod(1).Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	base := c.URL(0)
	b.do("phone viewport", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2)))
	b.signIn(base, c.AdminToken())
	for _, pg := range []struct{ hash, ready string }{
		{"#/cluster", `document.querySelectorAll("#workers tbody tr").length === 3`},
		{"#/workloads", `document.querySelectorAll("#pods .rows > [role=row]").length === 12`},
		{"#/pod/team-1/" + pod.Name, `document.querySelector("main").textContent.includes("Running")`},
		{"#/node/node-001", `document.querySelector("main").textContent.includes("Ready")`},
		{"#/deploy", `!!document.querySelector("#deploy-form")`},
	} {
		b.navigate("open "+pg.hash, base+"/ui/"+pg.hash)
		b.waitTrue(pg.hash, pg.ready)
		if width := b.eval(`String(document.documentElement.clientWidth)`); width != "375" {
			t.Fatalf("%s: the page lays out at %s px, not at the phone's 375 px (viewport meta?)", pg.hash, width)
		}
		var over, bare []string
		if err := json.Unmarshal([]byte(b.eval(overflow)), &over); err != nil {
			t.Fatal(err)
		}
		if len(over) > 0 {
			t.Errorf("%s at 375 px: %s", pg.hash, strings.Join(over, "; "))
		}
		if err := json.Unmarshal([]byte(b.eval(unlabeled)), &bare); err != nil {
			t.Fatal(err)
		}
		if len(bare) > 0 {
			t.Errorf("%s: controls without a label: %s", pg.hash, strings.Join(bare, "; "))
		}
		if pg.hash == "#/workloads" {
			b.screenshot("dashboard-phone")
		}
	}
	b.checkNoErrors()
}

// focused describes the element that has the keyboard focus.
const focused = `(() => { const e = document.activeElement; if (!e || e === document.body) return "body";
  return e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.tagName === "A" || e.tagName === "BUTTON" ? ":" + e.textContent.trim() : ""); })()`

// TestDashboardKeyboard drives the dashboard with the keyboard alone: Tab
// reaches the navigation, the filters and sign-out, each with a visible
// focus ring; Enter on a link changes the page and moves the focus to the
// new page's content; Tab then reaches the pod links, and Enter opens a
// pod.
func TestDashboardKeyboard(t *testing.T) {
	b := newBrowser(t)
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kc, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	seedScale(t, ctx, kc, 2, 4)

	base := c.URL(0)
	b.signIn(base, c.AdminToken())
	b.waitTrue("cluster page", `document.querySelectorAll("#workers tbody tr").length === 2`)
	// tab presses Tab and returns what has the focus then, with its
	// outline: a focused control must show it has the focus.
	tab := func() (string, string) {
		b.do("tab", chromedp.KeyEvent(kb.Tab))
		return b.eval(focused), b.eval(`document.activeElement ? getComputedStyle(document.activeElement).outlineStyle : ""`)
	}
	var order []string
	for range 12 {
		f, outline := tab()
		order = append(order, f)
		if f != "body" && outline == "none" {
			t.Errorf("%s has the keyboard focus but no visible focus outline", f)
		}
	}
	for _, want := range []string{"a:Skiff", "a:Cluster", "a:Workloads", "a:Deploy", "select#ns", "input#sel", "button:Sign out"} {
		if !slices.Contains(order, want) {
			t.Errorf("Tab never reached %s; the focus went %s", want, strings.Join(order, " → "))
		}
	}
	if i, j := slices.Index(order, "a:Cluster"), slices.Index(order, "button:Sign out"); i < 0 || j < i {
		t.Errorf("the focus order does not follow the page (%s)", strings.Join(order, " → "))
	}

	// Back to the Workloads link, then Enter.
	b.do("focus workloads", chromedp.Focus(chromedp.CSS(`nav a[href="#/workloads"]`)), chromedp.KeyEvent(kb.Enter))
	b.waitTrue("workloads page", `location.hash === "#/workloads" && document.activeElement === document.querySelector("main")`)
	b.waitTrue("pods listed", `document.querySelectorAll("#pods .rows > [role=row]").length === 4`)
	b.screenshot("dashboard-pods")
	var reached string
	for range 40 {
		if f, _ := tab(); strings.HasPrefix(f, "a:app-") {
			reached = f
			break
		}
	}
	if reached == "" {
		t.Fatalf("Tab from the workloads page's content never reached a pod link")
	}
	b.do("open the pod", chromedp.KeyEvent(kb.Enter))
	b.waitTrue("pod page", fmt.Sprintf(`location.hash.startsWith("#/pod/") && document.querySelector("h1").textContent.endsWith(%q)`, strings.TrimPrefix(reached, "a:")))
	// The logs can be scrolled from the keyboard.
	if got := b.eval(`document.querySelector("pre.logs").tabIndex === 0 ? "focusable" : "not focusable"`); got != "focusable" {
		t.Errorf("the logs box is %s from the keyboard", got)
	}
	b.checkNoErrors()
}
