// Package ui serves Skiff's dashboard at /ui/ on every server's API port.
//
// The dashboard is a small single page (HTML, CSS and hand-written
// JavaScript embedded in the binary, no build step) that talks to the same
// Kubernetes API and operator endpoints as every other client, with the
// signed-in user's own token: it adds no privileged path. The token never
// reaches the page. Signing in trades it for a session cookie (HttpOnly,
// Secure, SameSite=Strict) whose session, kept in this server's memory,
// holds the token; /ui/api/... forwards a request to the API with it.
//
// Lists are a list and then a watch of the API, from the list's
// resourceVersion; an update rebuilds only the rows of the objects that
// changed, and the long pods list skips layout for rows off screen, so a
// page of 1,000 pods paints in about 130 ms and shows a pod's change
// within a frame or two (docs/dashboard.md, ui/bench_test.go). A followed
// log that breaks resumes from its last line's timestamp.
//
// Safety by default:
//   - a strict Content-Security-Policy (scripts and styles from the page's
//     own origin only, no inline code, no framing);
//   - every mutating request through /ui/api needs the session's CSRF token
//     in a header, which a cross-site page cannot set;
//   - the page renders every object field with textContent, never as HTML;
//   - no token in a URL: `skiff dashboard` mints a one-time, short-lived
//     sign-in code, which the sign-in page consumes and drops from the
//     address bar.
package ui
