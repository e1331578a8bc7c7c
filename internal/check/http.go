package check

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// hstsMinAge is six months in seconds, the least max-age accepted.
const hstsMinAge = 15768000

// measuredMax caps a header value kept in Result.Measured.
const measuredMax = 512

// get fetches url through the guarded client and returns the final response
// with at most maxBody bytes of its body.
func (r *Runner) get(ctx context.Context, target string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("User-Agent", "Evident-check/1")
	client := r.httpClient()
	// Each run has its own client; leave no idle connection behind.
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, err
	}
	return resp, body, nil
}

func (r *Runner) checkHeaders(ctx context.Context, res *Result, target string) {
	resp, _, err := r.get(ctx, target)
	if err != nil {
		res.fail(err)
		return
	}
	res.measure("status", strconv.Itoa(resp.StatusCode))
	res.measure("final_url", resp.Request.URL.String())
	h := resp.Header
	for _, name := range []string{"Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"} {
		if v := strings.Join(h.Values(name), ", "); v != "" {
			res.measure(strings.ToLower(name), truncate(v, measuredMax))
		}
	}

	if resp.Request.URL.Scheme != "https" {
		// Browsers ignore HSTS on plain HTTP, and the page is not protected.
		res.assert("hsts_max_age", false, "the final page %s is served over plain HTTP", resp.Request.URL)
	} else {
		ok, detail := judgeHSTS(h.Get("Strict-Transport-Security"))
		res.assert("hsts_max_age", ok, "%s", detail)
	}

	csp := strings.TrimSpace(strings.Join(h.Values("Content-Security-Policy"), ", "))
	if csp == "" {
		res.assert("csp_present", false, "no Content-Security-Policy header")
	} else {
		res.assert("csp_present", true, "Content-Security-Policy is set")
	}

	ok, detail := judgeFraming(h.Get("X-Frame-Options"), h.Values("Content-Security-Policy"))
	res.assert("frame_protection", ok, "%s", detail)

	switch xcto := strings.TrimSpace(h.Get("X-Content-Type-Options")); {
	case strings.EqualFold(xcto, "nosniff"):
		res.assert("content_type_nosniff", true, "X-Content-Type-Options: nosniff")
	case xcto == "":
		res.assert("content_type_nosniff", false, "no X-Content-Type-Options header")
	default:
		res.assert("content_type_nosniff", false, "X-Content-Type-Options is %q, not nosniff", xcto)
	}

	ok, detail = judgeReferrer(h.Values("Referrer-Policy"))
	res.assert("referrer_policy", ok, "%s", detail)
}

// judgeHSTS wants max-age of at least six months. Browsers read the first
// header only, so that is the one judged.
func judgeHSTS(v string) (bool, string) {
	if strings.TrimSpace(v) == "" {
		return false, "no Strict-Transport-Security header"
	}
	for _, d := range strings.Split(v, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
		if !strings.EqualFold(strings.TrimSpace(name), "max-age") {
			continue
		}
		value = strings.Trim(strings.TrimSpace(value), `"`)
		age, err := strconv.ParseInt(value, 10, 64)
		if err != nil || age < 0 {
			return false, fmt.Sprintf("max-age=%q is not a number of seconds", value)
		}
		if age < hstsMinAge {
			return false, fmt.Sprintf("max-age=%d is under six months (%d s)", age, hstsMinAge)
		}
		return true, fmt.Sprintf("max-age=%d", age)
	}
	return false, "Strict-Transport-Security has no max-age"
}

// judgeFraming accepts X-Frame-Options DENY or SAMEORIGIN, or a CSP
// frame-ancestors directive that does not allow every origin.
func judgeFraming(xfo string, csps []string) (bool, string) {
	xfo = strings.TrimSpace(xfo)
	if strings.EqualFold(xfo, "DENY") || strings.EqualFold(xfo, "SAMEORIGIN") {
		return true, "X-Frame-Options: " + strings.ToUpper(xfo)
	}
	for _, header := range csps {
		// A header may carry several policies separated by commas.
		for _, policy := range strings.Split(header, ",") {
			for _, directive := range strings.Split(policy, ";") {
				fields := strings.Fields(directive)
				if len(fields) == 0 || !strings.EqualFold(fields[0], "frame-ancestors") {
					continue
				}
				for _, src := range fields[1:] {
					if src == "*" || strings.EqualFold(src, "https:") || strings.EqualFold(src, "http:") {
						return false, fmt.Sprintf("frame-ancestors %s lets any site frame the page", src)
					}
				}
				return true, strings.TrimSpace(directive)
			}
		}
	}
	if xfo != "" {
		return false, fmt.Sprintf("X-Frame-Options is %q (want DENY or SAMEORIGIN) and CSP has no frame-ancestors", xfo)
	}
	return false, "neither X-Frame-Options nor CSP frame-ancestors is set"
}

var referrerPolicies = map[string]bool{
	"no-referrer": true, "no-referrer-when-downgrade": false, "origin": true,
	"origin-when-cross-origin": true, "same-origin": true, "strict-origin": true,
	"strict-origin-when-cross-origin": true, "unsafe-url": false,
}

// judgeReferrer reads the policy the way browsers do: the last value they
// know wins, unknown ones are skipped.
func judgeReferrer(values []string) (bool, string) {
	policy := ""
	for _, v := range values {
		for _, tok := range strings.Split(v, ",") {
			tok = strings.ToLower(strings.TrimSpace(tok))
			if _, known := referrerPolicies[tok]; known {
				policy = tok
			}
		}
	}
	switch {
	case len(values) == 0:
		return false, "no Referrer-Policy header"
	case policy == "":
		return false, fmt.Sprintf("Referrer-Policy %q has no known policy", strings.Join(values, ", "))
	case !referrerPolicies[policy]:
		return false, fmt.Sprintf("Referrer-Policy %s sends the full URL to other sites", policy)
	}
	return true, "Referrer-Policy: " + policy
}

func (r *Runner) checkUp(ctx context.Context, res *Result, target string) {
	started := r.now()
	resp, _, err := r.get(ctx, target)
	took := r.now().Sub(started)
	if err != nil {
		res.fail(err)
		return
	}
	res.measure("status", strconv.Itoa(resp.StatusCode))
	res.measure("duration_ms", strconv.FormatInt(took.Milliseconds(), 10))
	res.measure("final_url", resp.Request.URL.String())
	ok := resp.StatusCode >= 200 && resp.StatusCode < 400
	res.assert("status_ok", ok, "HTTP %d in %s", resp.StatusCode, took.Round(time.Millisecond))
}

// securityTxtURL is where RFC 9116 puts the file for a site URL or host.
func securityTxtURL(target string) string {
	host := target
	if strings.Contains(target, "://") {
		// Validated already: an https URL.
		u, _ := url.Parse(target)
		host = u.Host
	} else if a, err := netip.ParseAddr(target); err == nil && a.Is6() {
		host = "[" + target + "]"
	} else if h, p, err := net.SplitHostPort(target); err == nil && p == "" {
		host = h
	}
	return (&url.URL{Scheme: "https", Host: host, Path: "/.well-known/security.txt"}).String()
}

func (r *Runner) checkSecurityTxt(ctx context.Context, res *Result, target string) {
	resp, body, err := r.get(ctx, securityTxtURL(target))
	if err != nil {
		res.fail(err)
		return
	}
	res.measure("status", strconv.Itoa(resp.StatusCode))
	res.measure("final_url", resp.Request.URL.String())
	if resp.StatusCode != http.StatusOK {
		res.assert("status_ok", false, "%s answered HTTP %d, want 200", resp.Request.URL, resp.StatusCode)
		return
	}
	res.assert("status_ok", true, "HTTP 200")

	ct := resp.Header.Get("Content-Type")
	media, _, _ := mime.ParseMediaType(ct)
	if media == "text/plain" {
		res.assert("content_type", true, "Content-Type: %s", ct)
	} else {
		res.assert("content_type", false, "Content-Type is %q, want text/plain", ct)
	}

	fields := securityTxtFields(string(body))
	if contacts := fields["contact"]; len(contacts) > 0 {
		res.measure("contact", truncate(strings.Join(contacts, ", "), measuredMax))
		res.assert("contact", true, "Contact: %s", contacts[0])
	} else {
		res.assert("contact", false, "no Contact: field")
	}

	expires := fields["expires"]
	switch {
	case len(expires) == 0:
		res.assert("expires", false, "no Expires: field")
	case len(expires) > 1:
		res.assert("expires", false, "%d Expires: fields, RFC 9116 allows one", len(expires))
	default:
		res.measure("expires", expires[0])
		at, err := time.Parse(time.RFC3339, expires[0])
		switch {
		case err != nil:
			res.assert("expires", false, "Expires: %q is not an RFC 3339 date such as 2030-01-31T23:59:59Z", expires[0])
		case !at.After(r.now()):
			res.assert("expires", false, "expired on %s", at.UTC().Format(time.RFC3339))
		default:
			res.assert("expires", true, "expires on %s", at.UTC().Format(time.RFC3339))
		}
	}
}

// securityTxtFields reads "Name: value" lines, names folded to lower case.
// Comments and the lines of an OpenPGP signature are not fields.
func securityTxtFields(body string) map[string][]string {
	fields := map[string][]string{}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "-") {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.ContainsAny(name, " \t") {
			continue
		}
		fields[strings.ToLower(name)] = append(fields[strings.ToLower(name)], strings.TrimSpace(value))
	}
	return fields
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a character boundary, not inside one.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
