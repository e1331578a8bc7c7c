package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/i18n"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/subprocessor"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// staticVersion is a hash of every static file: links carry it so browsers
// may cache the files forever and still see a new release at once.
var staticVersion = func() string {
	h := sha256.New()
	_ = fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFiles.ReadFile(p)
		h.Write([]byte(p))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

var funcs = template.FuncMap{
	"t":      i18n.T,
	"static": func(name string) string { return "/static/" + path.Clean(name) + "?v=" + staticVersion },
	"langs":  i18n.Codes,
	"langName": func(code string) string {
		return i18n.Name(code)
	},
	"allowed": identity.Allowed,
	// stateLabel is a posture state in words, as exports write it.
	"stateLabel": func(s any) string { return control.State(fmt.Sprint(s)).Label() },
	// changeValue is a changed subprocessor field's value in words.
	"changeValue": subprocessor.ValueLabel,
	"date":        func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	// segments are the parts of a posture bar for counts.
	"segments": postureSegments,
	// requirementStates are the states a requirement can take, in order.
	"requirementStates": func() []control.State { return control.RequirementStates },
	// share is a part of the applicable requirements in per cent, as text
	// in the language's way (79.1 in English, 79,1 in French).
	"share": func(lang string, c control.Counts, n int) string {
		v := strconv.FormatFloat(c.Share(n), 'f', 1, 64)
		if lang == "fr" {
			v = strings.Replace(v, ".", ",", 1)
		}
		return v
	},
	"eq2": func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) },
	// dict passes several values to a partial: dict "Key" value "Key2" value2.
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

// pages holds one template set per page: the layout plus the page's blocks.
var pages = func() map[string]*template.Template {
	// The layout and the partials every page may use.
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/partials.html"))
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := path.Base(n)
		if name == "layout.html" || name == "partials.html" {
			continue
		}
		t := template.Must(template.Must(layout.Clone()).ParseFS(templateFiles, n))
		out[name[:len(name)-len(".html")]] = t
	}
	return out
}()

// View is what every page template receives.
type View struct {
	Lang      string
	Path      string     // the page's path, for the language switcher
	query     url.Values // the page's query, for the language switcher
	RequestID string
	Principal *Principal // the signed-in user on console pages
	Data      any
}

// LangURL is this page in another language: the same path and query (its
// filters, the token of a link) with lang set. Leading slashes collapse to
// one, so a path such as //host cannot become a link to another site.
func (v View) LangURL(lang string) template.URL {
	q := url.Values{}
	for k, vals := range v.query {
		q[k] = vals
	}
	q.Set("lang", lang)
	u := url.URL{Path: "/" + strings.TrimLeft(v.Path, "/"), RawQuery: q.Encode()}
	return template.URL(u.String())
}

// render writes page with status 200.
func render(w http.ResponseWriter, r *http.Request, page string, data any) {
	renderStatus(w, r, http.StatusOK, page, data)
}

// renderStatus executes a page into a buffer first, so a template error
// becomes a clean 500 rather than half a page.
func renderStatus(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	body, err := renderBytes(r, page, data)
	if err != nil {
		info := InfoFrom(r.Context())
		if page != "error" {
			Error(w, r, err)
			return
		}
		http.Error(w, "Internal error. Request reference: "+info.ID, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Content-Language", requestLang(r))
	h.Add("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// renderBytes executes a page in the layout; a failure is logged with the
// request's reference.
func renderBytes(r *http.Request, page string, data any) ([]byte, error) {
	t, ok := pages[page]
	if !ok {
		panic("web: no page template " + page)
	}
	info := InfoFrom(r.Context())
	v := View{Lang: requestLang(r), Path: r.URL.Path, RequestID: info.ID, Principal: info.Principal, Data: data}
	if r.Method == http.MethodGet {
		v.query = r.URL.Query()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		info.logger().Error("render", "page", page, "request_id", info.ID, "err", err)
		return nil, err
	}
	return buf.Bytes(), nil
}

// langCookie remembers a visitor's explicit language choice.
const langCookie = "lang"

// requestLang picks the page language: ?lang=, then the cookie, then
// Accept-Language.
func requestLang(r *http.Request) string {
	if info := InfoFrom(r.Context()); info.Lang != "" {
		return info.Lang
	}
	var cookie string
	if c, err := r.Cookie(langCookie); err == nil {
		cookie = c.Value
	}
	lang := i18n.Match(r.URL.Query().Get("lang"), cookie, r.Header.Get("Accept-Language"))
	InfoFrom(r.Context()).Lang = lang
	return lang
}

// rememberLang stores an explicit ?lang= choice in a cookie.
func rememberLang(w http.ResponseWriter, r *http.Request, secure bool) {
	choice := r.URL.Query().Get("lang")
	if choice == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: langCookie, Value: i18n.Match(choice), Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// staticHandler serves the embedded static files. Links carry the content
// version, so they may be cached for a year.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") == staticVersion {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=300")
		}
		if st, err := fs.Stat(sub, path.Clean(r.PathValue("file"))); err != nil || st.IsDir() {
			Error(w, r, errNotFound)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + r.PathValue("file")
		files.ServeHTTP(w, r2)
	})
}
