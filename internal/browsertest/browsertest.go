// Package browsertest looks at pages the way a person does: in Debian's
// Chromium, driven by chromedp. It takes a screenshot of each page at desktop
// and phone widths into the test artefacts (EVIDENT_TEST_ARTIFACTS, else a
// temporary directory) and runs axe-core on it. Without Chromium the tests
// skip, except under CI=true, where they fail.
package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian installs Chromium.
const ChromiumPath = "/usr/bin/chromium"

//go:embed testdata/axe.min.js
var axeSource string

// Browser is one headless Chromium for a test.
type Browser struct {
	ctx       context.Context
	artifacts string
}

// New starts Chromium for t, closed when t ends.
func New(t *testing.T) *Browser {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but Chromium is missing at %s: the browser tests cannot run", ChromiumPath)
		}
		t.Skipf("Chromium is not installed at %s", ChromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	// axe-core is injected into every page, and the product's CSP allows no
	// script but its own files: bypass the CSP for this test tab only.
	if _, err := chromedp.Call(ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatalf("bypass CSP for axe: %v", err)
	}
	dir := os.Getenv("EVIDENT_TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &Browser{ctx: ctx, artifacts: dir}
}

// Context returns the browser's context with a one-minute limit, for steps
// of a test's own (chromedp.Do with it).
func (b *Browser) Context(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Viewports a page is looked at in.
var Viewports = []struct {
	Name          string
	Width, Height int64
}{{"desktop", 1280, 800}, {"phone", 375, 740}}

// Violation is one axe-core finding.
type Violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// Look loads url at every viewport, saves a full-page screenshot named after
// name, and fails t on any accessibility violation axe-core finds.
func (b *Browser) Look(t *testing.T, name, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	for _, vp := range Viewports {
		err := chromedp.Do(ctx,
			chromedp.EmulateViewport(vp.Width, vp.Height),
			chromedp.Navigate(url),
			chromedp.WaitReady("body"),
		)
		if err != nil {
			t.Fatalf("%s at %s: %v", url, vp.Name, err)
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot of %s: %v", url, err)
		}
		file := filepath.Join(b.artifacts, unsafeName.ReplaceAllString(strings.ToLower(name), "-")+"-"+vp.Name+".png")
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", file)
	}
	for _, v := range b.axe(t, ctx) {
		var targets []string
		for _, n := range v.Nodes {
			targets = append(targets, fmt.Sprint(n.Target...))
		}
		t.Errorf("%s: accessibility (%s, %s): %s at %s", url, v.ID, v.Impact, v.Help, strings.Join(targets, "; "))
	}
}

// axe runs axe-core on the loaded page.
func (b *Browser) axe(t *testing.T, ctx context.Context) []Violation {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+";true")); err != nil {
		t.Fatalf("inject axe-core: %v", err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core: %v", err)
	}
	var vs []Violation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("axe-core result: %v", err)
	}
	return vs
}
