package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/evident-isms/evident/internal/access"
	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/i18n"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/subscriber"
	"github.com/evident-isms/evident/internal/trust"
)

// The public trust center of an organisation (DESIGN.md, "HTTP surfaces"):
// at /t/{slug}/ for every published organisation, at / for the one named
// by --public-org and for host names the operator mapped to one. Its pages
// are built from trust.Build, which leaves out everything private, and
// served from the render cache. Members preview the same pages under
// /app/o/{slug}/preview/ before and after publishing.

// sitePage is one page of the public site.
type sitePage struct {
	path     string // below the site's root: "", "controls", "controls/{framework}"
	template string
}

var sitePages = []sitePage{
	{"", "public_overview"},
	{"controls", "public_controls"},
	{"controls/{framework}", "public_framework"},
	{"subprocessors", "public_subprocessors"},
	{"measures", "public_measures"},
	{"privacy", "public_privacy"},
	{"documents", "public_documents"},
	{"contact", "public_contact"},
}

func (s *Server) registerPublicSite() {
	rt := s.Router
	for _, prefix := range []string{"/t/{slug}/", "/"} {
		for _, p := range sitePages {
			pattern := prefix + p.path
			if p.path == "" {
				if prefix == "/" {
					continue // "/" is the landing page, which shows the site when there is one
				}
				pattern += "{$}"
			}
			rt.HandleFunc("GET", pattern, identity.Public, s.sitePage(p))
		}
		rt.HandleFunc("GET", prefix+"trust.json", identity.Public, s.trustJSON)
		rt.HandleFunc("GET", prefix+"documents/{id}/file", identity.Public, s.publicDownload)
		rt.HandleFunc("GET", prefix+"documents/{id}/request", identity.Public, s.accessRequestPage)
		rt.HandleFunc("POST", prefix+"documents/{id}/request", identity.Public, s.requestAccess)
	}
	rt.HandleFunc("GET", "/trust.schema.json", identity.Public, s.trustSchema)
	for _, p := range sitePages {
		pattern := "/app/o/{slug}/preview/" + p.path
		if p.path == "" {
			pattern += "{$}"
		}
		rt.HandleFunc("GET", pattern, identity.ContentRead, s.sitePage(p))
	}
}

// site is the trust center a request addresses.
type site struct {
	Org      *org.Org
	Revision int64
	Host     string // the mapped host name, or "" on /t/{slug}/ and --public-org
	Base     string // the path of the site's root, without its final slash
	FormBase string // where its forms post and its files and feeds are: the public site, also from a preview
	Preview  bool
}

var errNoSite = apperr.New(apperr.NotFound, "there is no trust center here")

// resolveSite finds the site of a request: a preview of the signed-in
// member's organisation, /t/{slug}/, a mapped host, or --public-org. An
// organisation that has not published its site is not found.
func (s *Server) resolveSite(r *http.Request) (*site, error) {
	ctx := r.Context()
	if s.cfg.TrustCache == nil || s.cfg.Orgs == nil {
		return nil, errNoSite // a server without organisations (tests of the web layer alone)
	}
	if strings.HasPrefix(r.URL.Path, "/app/") {
		p := principal(r)
		rev, err := s.cfg.TrustCache.Revision(ctx, p.Org.ID)
		if err != nil {
			return nil, err
		}
		return &site{Org: p.Org, Revision: rev, Base: "/app/o/" + p.Org.Slug + "/preview", FormBase: "/t/" + p.Org.Slug,
			Preview: true}, nil
	}
	var st site
	var o *org.Org
	var rev int64
	var err error
	if slug := r.PathValue("slug"); slug != "" {
		st.Base = "/t/" + org.NormaliseSlug(slug)
		o, rev, err = s.cfg.TrustCache.Org(ctx, "slug:"+org.NormaliseSlug(slug), func() (*org.Org, error) { return s.cfg.Orgs.BySlug(ctx, slug) })
	} else {
		err = errNoSite
		if h := s.hostSite(r); h != "" {
			o, rev, err = s.cfg.TrustCache.Org(ctx, "host:"+h, func() (*org.Org, error) { return s.cfg.Orgs.OrgForHost(ctx, h) })
			if err == nil {
				st.Host = h
			}
		}
		if apperr.CodeOf(err) == apperr.NotFound && s.cfg.PublicOrg != "" {
			slug := org.NormaliseSlug(s.cfg.PublicOrg)
			o, rev, err = s.cfg.TrustCache.Org(ctx, "slug:"+slug, func() (*org.Org, error) { return s.cfg.Orgs.BySlug(ctx, slug) })
		}
	}
	if apperr.CodeOf(err) == apperr.NotFound || err == nil && !o.PublicSite {
		return nil, errNotFound // in the visitor's language
	}
	if err != nil {
		return nil, err
	}
	st.Org, st.Revision, st.FormBase = o, rev, st.Base
	return &st, nil
}

// hostSite is the request's host name when the instance maps host names
// and it is not the instance's own (--base-url's).
func (s *Server) hostSite(r *http.Request) string {
	h := org.HostFromRequest(r.Host)
	if h == "" || s.cfg.BaseURL != nil && strings.EqualFold(h, s.cfg.BaseURL.Hostname()) {
		return ""
	}
	return h
}

// publicView is what every public page template receives.
type publicView struct {
	Site     *trust.Site
	Base     string
	FormBase string
	Preview  bool
	// PublishedPreview: a preview of a site visitors see already.
	PublishedPreview bool
	Page             string   // the template, for the navigation's current page
	Sections         []string // the sections with data, in the navigation's order
	Framework        *trust.Framework
	Tree             []treeRow
	Document         *trust.Document
	Form             form
	Sent             bool
	Topics           []string
	AtRoot           bool // served at / of its host: security.txt is there
}

// treeRow is one row of a framework's tree: a grouping node or a
// requirement, in document order.
type treeRow struct {
	Node        *trust.Node
	Requirement *trust.Requirement
}

// Level is the heading level of a tree row at depth: the page's h1 and the
// summary come first.
func (v *publicView) Level(depth int) int { return min(depth+2, 6) }

var siteSections = []string{"controls", "subprocessors", "measures", "privacy", "documents", "contact"}

// buildSite returns the site in the request's language, built once per
// revision (the preview: every time). The build outlives a visitor who
// hangs up: others may be waiting for it.
func (s *Server) buildSite(r *http.Request, st *site) (*trust.Site, error) {
	ctx, lang, now := context.WithoutCancel(r.Context()), requestLang(r), s.cfg.Clock.Now()
	build := func() (*trust.Site, error) { return trust.Build(ctx, s.trustSources(), st.Org, lang, now) }
	if st.Preview {
		return build()
	}
	return s.cfg.TrustCache.Site(trust.Key{OrgID: st.Org.ID, Lang: lang, Revision: st.Revision}, now, build)
}

func (s *Server) trustSources() trust.Sources {
	return trust.Sources{Controls: s.cfg.Controls, Evidence: s.cfg.Evidence, Measures: s.cfg.Measures,
		Subprocessors: s.cfg.Subprocessors, Profile: s.cfg.Profile, Translations: s.cfg.Translations}
}

// view prepares a page's data; it fails with not found for a framework the
// organisation has not adopted.
func (s *Server) view(r *http.Request, st *site, ts *trust.Site, page string) (*publicView, error) {
	v := &publicView{Site: ts, Base: st.Base, FormBase: st.FormBase, Preview: st.Preview, Page: page, Topics: subscriber.Topics,
		AtRoot: st.Base == "", PublishedPreview: st.Preview && st.Org.PublicSite}
	for _, sec := range siteSections {
		if ts.Has(sec) {
			v.Sections = append(v.Sections, sec)
		}
	}
	if page == "public_framework" {
		if v.Framework = ts.Framework(r.PathValue("framework")); v.Framework == nil {
			return nil, errNotFound
		}
		v.Tree = frameworkTree(v.Framework)
	}
	return v, nil
}

// frameworkTree lays a framework out in document order: each requirement
// preceded by the grouping nodes above it not shown yet.
func frameworkTree(f *trust.Framework) []treeRow {
	nodes := make(map[string]*trust.Node, len(f.Nodes))
	for i := range f.Nodes {
		nodes[f.Nodes[i].Ref] = &f.Nodes[i]
	}
	shown := map[string]bool{}
	var rows []treeRow
	for i := range f.Requirements {
		req := &f.Requirements[i]
		var chain []*trust.Node
		for ref := req.Parent; ref != "" && !shown[ref]; {
			n, ok := nodes[ref]
			if !ok {
				break
			}
			chain = append(chain, n)
			ref = n.Parent
		}
		for j := len(chain) - 1; j >= 0; j-- {
			shown[chain[j].Ref] = true
			rows = append(rows, treeRow{Node: chain[j]})
		}
		rows = append(rows, treeRow{Requirement: req})
	}
	return rows
}

// cacheable tells whether a request's page is the same for every visitor
// of its language. Other parameters (a campaign tag, a cache buster) are
// ignored rather than rendered: a page must not cost a render per made-up
// query. Only the thanks after a form (sent) is not cached.
func cacheable(r *http.Request) bool {
	return !r.URL.Query().Has("sent")
}

func (s *Server) sitePage(p sitePage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st, err := s.resolveSite(r)
		if err != nil {
			Error(w, r, err)
			return
		}
		s.serveSitePage(w, r, p, st)
	}
}

// serveSitePage answers with page p of the resolved site st, from the cache
// unless it is a preview or the thanks after a form.
func (s *Server) serveSitePage(w http.ResponseWriter, r *http.Request, p sitePage, st *site) {
	var err error
	rememberLang(w, r, s.cfg.BehindTLS || r.TLS != nil)
	render := func() (*trust.Page, error) {
		ts, err := s.buildSite(r, st)
		if err != nil {
			return nil, err
		}
		if section := strings.TrimPrefix(p.template, "public_"); slices.Contains(siteSections, section) && !ts.Has(section) {
			return nil, errNotFound // a section without data is hidden, not shown empty
		}
		v, err := s.view(r, st, ts, p.template)
		if err != nil {
			return nil, err
		}
		v.Sent = r.URL.Query().Get("sent") != ""
		body, err := renderBytes(r, p.template, v)
		if err != nil {
			return nil, err
		}
		return trust.NewPage(body, "text/html; charset=utf-8", requestLang(r), ts.Until()), nil
	}
	var out *trust.Page
	if st.Preview || !cacheable(r) {
		out, err = render()
	} else {
		// Rendered without the query: its links (the language switch)
		// must not carry what one visitor typed to the next. The
		// language is read first, while ?lang= is there.
		if r.URL.RawQuery != "" {
			requestLang(r)
			r = r.Clone(r.Context())
			r.URL.RawQuery = ""
		}
		// Keyed by the page within the site, never by the path as
		// typed: /t/ACME/ and /t/acme/ are one page.
		page := strings.Replace(p.path, "{framework}", r.PathValue("framework"), 1)
		key := trust.Key{OrgID: st.Org.ID, Host: st.Host + st.Base, Page: page, Lang: requestLang(r), Revision: st.Revision}
		out, err = s.cfg.TrustCache.Get(key, s.cfg.Clock.Now(), render)
	}
	if err != nil {
		Error(w, r, err)
		return
	}
	servePage(w, r, out)
}

// servePage writes a rendered page: 304 when the visitor has it, gzip when
// it is accepted.
func servePage(w http.ResponseWriter, r *http.Request, p *trust.Page) {
	h := w.Header()
	h.Set("Content-Type", p.ContentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Accept-Encoding, Accept-Language, Cookie")
	if p.Lang != "" {
		h.Set("Content-Language", p.Lang)
	}
	body, etag := p.Body, p.ETag
	if acceptsGzip(r) {
		body, etag = p.Gzip, p.GzipETag()
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// acceptsGzip reads Accept-Encoding (RFC 9110, 12.5.3): gzip is accepted
// when named with a non-zero weight, or when it is not named and * is.
func acceptsGzip(r *http.Request) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		fields := strings.Split(part, ";")
		name := strings.ToLower(strings.TrimSpace(fields[0]))
		q := 1.0
		for _, param := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(param), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0 // a weight that does not parse accepts nothing
				}
				q = f
			}
		}
		switch name {
		case "gzip", "x-gzip":
			gzipQ = q
		case "*":
			starQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

// etagMatch applies If-None-Match's weak comparison.
func etagMatch(header, etag string) bool {
	if strings.TrimSpace(header) == "*" {
		return true
	}
	for _, t := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == etag {
			return true
		}
	}
	return false
}

// trustJSON serves the site as JSON, from the same cache, to any origin.
func (s *Server) trustJSON(w http.ResponseWriter, r *http.Request) {
	st, err := s.resolveSite(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Expose-Headers", "ETag, Link")
	w.Header().Set("Link", `<`+s.absolute("/trust.schema.json")+`>; rel="describedby"`)
	render := func() (*trust.Page, error) {
		ts, err := s.buildSite(r, st)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(ts); err != nil {
			return nil, err
		}
		return trust.NewPage(buf.Bytes(), "application/json", ts.Lang, ts.Until()), nil
	}
	key := trust.Key{OrgID: st.Org.ID, Host: st.Host + st.Base, Page: "trust.json", Lang: requestLang(r), Revision: st.Revision}
	page, err := s.cfg.TrustCache.Get(key, s.cfg.Clock.Now(), render)
	if err != nil {
		Error(w, r, err)
		return
	}
	servePage(w, r, page)
}

func (s *Server) trustSchema(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "application/schema+json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(trust.Schema)
}

// absolute is a path on the instance's own address (--base-url).
func (s *Server) absolute(path string) string {
	if s.cfg.BaseURL == nil {
		return path
	}
	u := *s.cfg.BaseURL
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = ""
	return u.String()
}

// publicDownload serves a public file of a published site.
func (s *Server) publicDownload(w http.ResponseWriter, r *http.Request) {
	st, err := s.resolveSite(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	it, err := s.cfg.Evidence.Get(r.Context(), st.Org.ID, r.PathValue("id"), evidence.Reader{})
	if err != nil || it.Visibility != evidence.Public || it.File == nil {
		Error(w, r, errNotFound)
		return
	}
	it, rc, err := s.cfg.Evidence.Open(r.Context(), st.Org.ID, it.ID, evidence.Reader{})
	if apperr.CodeOf(err) == apperr.Forbidden || apperr.CodeOf(err) == apperr.NotFound {
		Error(w, r, errNotFound) // a quarantined file is not there for a visitor, nor is why
		return
	}
	if err != nil {
		Error(w, r, err)
		return
	}
	defer rc.Close()
	serveAttachment(w, it, rc)
}

// restrictedDocument returns a document of the site listed as on request.
func (s *Server) restrictedDocument(r *http.Request, st *site) (*trust.Site, *trust.Document, error) {
	ts, err := s.buildSite(r, st)
	if err != nil {
		return nil, nil, err
	}
	d := ts.Document(r.PathValue("id"))
	if d == nil || d.Access != "on_request" {
		return nil, nil, errNotFound
	}
	return ts, d, nil
}

func (s *Server) accessRequestPage(w http.ResponseWriter, r *http.Request) {
	s.showAccessRequest(w, r, http.StatusOK, form{})
}

func (s *Server) showAccessRequest(w http.ResponseWriter, r *http.Request, status int, f form) {
	st, err := s.resolveSite(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	ts, d, err := s.restrictedDocument(r, st)
	if err != nil {
		Error(w, r, err)
		return
	}
	v, err := s.view(r, st, ts, "public_request")
	if err != nil {
		Error(w, r, err)
		return
	}
	v.Document, v.Form, v.Sent = d, f, r.URL.Query().Get("sent") != ""
	renderStatus(w, r, status, "public_request", v)
}

// requestAccess takes a visitor's request for a restricted document to the
// organisation's admins.
func (s *Server) requestAccess(w http.ResponseWriter, r *http.Request) {
	st, err := s.resolveSite(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	_ = r.ParseForm()
	values := map[string]string{}
	for _, k := range []string{"name", "email", "company", "reason"} {
		values[k] = r.PostFormValue(k)
	}
	lang := requestLang(r)
	err = s.cfg.Access.Request(r.Context(), st.Org.ID, access.Input{EvidenceID: r.PathValue("id"), Name: values["name"], Email: values["email"],
		Company: values["company"], Reason: values["reason"], Lang: lang, Client: s.client(r).IP.String()})
	if err != nil {
		if apperr.CodeOf(err) == apperr.RateLimited {
			Error(w, r, &apperr.Error{Code: apperr.RateLimited, Message: i18n.T(lang, "subscribe.rate_limited"), Err: err})
			return
		}
		f, ok := formError(err, values)
		if !ok {
			Error(w, r, err)
			return
		}
		if f.Field != "" {
			f.Error = i18n.T(lang, "request.invalid."+f.Field)
		}
		s.showAccessRequest(w, r, StatusOf(apperr.CodeOf(err)), f)
		return
	}
	seeOther(w, r, st.FormBase+"/documents/"+url.PathEscape(r.PathValue("id"))+"/request?sent=1")
}
