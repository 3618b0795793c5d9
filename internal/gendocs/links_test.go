package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// TestRelativeLinks follows every relative link and image in README.md,
// docs/ and examples/ and fails for one whose file is missing, or whose
// #fragment names no heading or anchor of the Markdown file it points to.
// Links to other sites are not fetched (tests reach only loopback).
func TestRelativeLinks(t *testing.T) {
	files := []string{filepath.Join(repoRoot, "README.md")}
	for _, dir := range []string{"docs", "examples"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	anchorsOf := map[string]map[string]bool{}
	anchors := func(path string) (map[string]bool, error) {
		if a, ok := anchorsOf[path]; ok {
			return a, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		a := markdownAnchors(string(b))
		anchorsOf[path] = a
		return a, nil
	}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repoRoot, f)
		for _, l := range markdownLinks(string(b)) {
			if isExternal(l.target) {
				continue
			}
			checked++
			if err := checkLink(f, l.target, anchors); err != nil {
				t.Errorf("%s:%d: link %q: %v", rel, l.line, l.target, err)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative links found: the link parser is broken")
	}
}

// checkLink resolves target relative to the file it appears in.
func checkLink(from, target string, anchors func(string) (map[string]bool, error)) error {
	path, frag, _ := strings.Cut(target, "#")
	dest := from
	if path != "" {
		dest = filepath.Join(filepath.Dir(from), filepath.FromSlash(path))
		if _, err := os.Stat(dest); err != nil {
			return fmt.Errorf("no such file %s", dest)
		}
	}
	if frag == "" || !strings.HasSuffix(dest, ".md") {
		return nil
	}
	a, err := anchors(dest)
	if err != nil {
		return err
	}
	if !a[frag] {
		return fmt.Errorf("no heading or anchor #%s in %s", frag, dest)
	}
	return nil
}

func isExternal(target string) bool {
	return regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`).MatchString(target)
}

type link struct {
	target string
	line   int
}

var (
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refLink    = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$`)
	codeSpan   = regexp.MustCompile("`+[^`]*`+")
)

// markdownLinks returns the targets of inline links, images and link
// reference definitions outside code blocks and code spans.
func markdownLinks(doc string) []link {
	var out []link
	fence := ""
	for i, line := range strings.Split(doc, "\n") {
		if f := fenceOf(line); f != "" {
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(f, fence):
				fence = ""
			}
			continue
		}
		if fence != "" {
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			out = append(out, link{m[1], i + 1})
		}
		if m := refLink.FindStringSubmatch(line); m != nil {
			out = append(out, link{m[1], i + 1})
		}
	}
	return out
}

// fenceOf returns the fence (``` or ~~~, as long as written) a line opens
// or closes, or "".
func fenceOf(line string) string {
	s := strings.TrimLeft(line, " ")
	if len(line)-len(s) > 3 {
		return ""
	}
	for _, c := range []string{"`", "~"} {
		n := len(s) - len(strings.TrimLeft(s, c))
		if n >= 3 {
			return strings.Repeat(c, n)
		}
	}
	return ""
}

var (
	heading  = regexp.MustCompile(`^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$`)
	htmlID   = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	linkText = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
)

// markdownAnchors returns the fragments a Markdown file answers to: its
// headings as GitHub slugs them (repeats get -1, -2, ...) and explicit
// <a id> or <a name> anchors.
func markdownAnchors(doc string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	fence := ""
	for _, line := range strings.Split(doc, "\n") {
		if f := fenceOf(line); f != "" {
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(f, fence):
				fence = ""
			}
			continue
		}
		if fence != "" {
			continue
		}
		for _, m := range htmlID.FindAllStringSubmatch(line, -1) {
			out[m[1]] = true
		}
		if m := heading.FindStringSubmatch(line); m != nil {
			s := slug(m[1])
			if n := seen[s]; n > 0 {
				out[fmt.Sprintf("%s-%d", s, n)] = true
			} else {
				out[s] = true
			}
			seen[s]++
		}
	}
	return out
}

// slug is GitHub's heading anchor: the text without Markdown, lower case,
// keeping letters, digits, '-' and '_', with spaces as '-'.
func slug(text string) string {
	text = linkText.ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Rotating the cluster token", "rotating-the-cluster-token"},
		{"`skiff dev` and `make run`", "skiff-dev-and-make-run"},
		{"Node lifecycle (`controller/nodelifecycle`)", "node-lifecycle-controllernodelifecycle"},
		{"What works today", "what-works-today"},
		{"Skiff vs. k3s, Nomad & Swarm", "skiff-vs-k3s-nomad--swarm"},
		{"See [the API](api.md)", "see-the-api"},
	}
	for _, tt := range tests {
		if got := slug(tt.in); got != tt.want {
			t.Errorf("slug(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMarkdownLinks(t *testing.T) {
	doc := "see [a](a.md) and ![img](images/x.png \"title\")\n" +
		"```\n[not](code.md)\n```\n" +
		"`[not](span.md)` [b](b.md#frag) [web](https://example.com)\n" +
		"[ref]: ref.md\n"
	var got []string
	for _, l := range markdownLinks(doc) {
		got = append(got, fmt.Sprintf("%d:%s", l.line, l.target))
	}
	want := "1:a.md 1:images/x.png 5:b.md#frag 5:https://example.com 6:ref.md"
	if strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	a := markdownAnchors("# Title\n## Title\n<a id=\"x-y\"></a>\n```\n# not\n```\n")
	for _, want := range []string{"title", "title-1", "x-y"} {
		if !a[want] {
			t.Errorf("anchor %q missing from %v", want, a)
		}
	}
	if a["not"] {
		t.Error("a heading inside a code block counted")
	}
}
