package web

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/i18n"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/subprocessor"
	"github.com/evident-isms/evident/internal/subscriber"
	"github.com/evident-isms/evident/internal/trust"
)

// The public side of subprocessors: the list with its change notices, the
// Atom feed of the notices, and the pages behind the links of the e-mails
// (confirm a subscription, unsubscribe, object to a notice). Links in
// e-mails only ever show a page with a button: mail scanners open links,
// and only a person should consent or object. The one exception is the
// RFC 8058 one-click POST, which mail clients send without a page.

func (s *Server) registerPublicNotices() {
	rt := s.Router
	// The list itself is a page of the site (public_site.go). The feed and
	// the form are on every address of the site; the pages behind the
	// links of e-mails only under /t/{slug}/, where the links point, and
	// whether or not the site is published: an unsubscribe link must work.
	for _, prefix := range []string{"/t/{slug}/", "/"} {
		rt.HandleFunc("GET", prefix+"subprocessors/notices.atom", identity.Public, s.noticesFeed)
		rt.HandleFunc("POST", prefix+"subscribe", identity.Public, s.publicSubscribe)
	}
	rt.HandleFunc("GET", "/t/{slug}/subscriptions/confirm", identity.Public, s.confirmPage)
	rt.HandleFunc("POST", "/t/{slug}/subscriptions/confirm", identity.Public, s.confirmSubscription)
	rt.HandleFunc("GET", "/t/{slug}/unsubscribe", identity.Public, s.unsubscribePage)
	rt.HandleFunc("POST", "/t/{slug}/unsubscribe", identity.Public, s.unsubscribe)
	rt.HandleFunc("GET", "/t/{slug}/notices/{id}/object", identity.Public, s.objectPage)
	rt.HandleFunc("POST", "/t/{slug}/notices/{id}/object", identity.Public, s.object)
}

func (s *Server) publicOrg(r *http.Request) (*org.Org, error) {
	o, err := s.cfg.Orgs.BySlug(r.Context(), r.PathValue("slug"))
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, errNotFound // the page's own words, in the visitor's language
	}
	return o, err
}

// publicSubscribe handles the subscription form. Its answer is the same
// whatever the address's state; only the client's own rate limit or a
// malformed form is answered otherwise.
func (s *Server) publicSubscribe(w http.ResponseWriter, r *http.Request) {
	st, err := s.resolveSite(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	_ = r.ParseForm()
	email := r.PostFormValue("email")
	err = s.cfg.Subscribers.Subscribe(r.Context(), st.Org.ID, subscriber.Request{Email: email, Lang: requestLang(r),
		Topics: r.PostForm["topics"], Client: s.client(r)})
	if err != nil {
		if apperr.CodeOf(err) == apperr.RateLimited {
			// The same error (its Retry-After), in the visitor's language.
			Error(w, r, &apperr.Error{Code: apperr.RateLimited, Message: i18n.T(requestLang(r), "subscribe.rate_limited"), Err: err})
			return
		}
		renderFormLoad(w, r, "public_subprocessors", err, map[string]string{"email": email}, func(f form) (any, error) {
			// The service's messages are English; the form's own are translated.
			if key := "subscribe.invalid." + f.Field; i18n.Has("en", key) {
				f.Error = i18n.T(requestLang(r), key)
			}
			ts, err := s.buildSite(r, st)
			if err != nil {
				return nil, err
			}
			v, err := s.view(r, st, ts, "public_subprocessors")
			if err != nil {
				return nil, err
			}
			v.Form = f
			return v, nil
		})
		return
	}
	seeOther(w, r, st.Base+"/subprocessors?sent=1#subscribe")
}

// publicMessage is a small public page: a heading, a text and, when Action
// is set, a form with one button (and an optional reason field).
type publicMessage struct {
	Org        *org.Org
	Title      string
	Text       string
	Action     string // form action; empty: no form
	Token      string
	Button     string
	Reason     bool // show a reason field (objections)
	ReasonText string
	Error      string
	Back       string
}

func (s *Server) message(w http.ResponseWriter, r *http.Request, status int, m publicMessage) {
	// These pages answer links that carry a token and show an address:
	// no cache may keep them.
	w.Header().Set("Cache-Control", "no-store")
	if m.Back == "" && m.Org != nil {
		m.Back = "/t/" + m.Org.Slug + "/subprocessors"
	}
	renderStatus(w, r, status, "public_message", m)
}

// linkError answers a link that does not work any more, in the visitor's
// language, without saying why (which would tell whether an address is
// known).
func (s *Server) linkError(w http.ResponseWriter, r *http.Request, o *org.Org, err error) {
	if apperr.CodeOf(err) != apperr.NotFound {
		Error(w, r, err)
		return
	}
	// Without the organisation's name: a link that does not work must not
	// tell who is behind a slug.
	lang := requestLang(r)
	s.message(w, r, http.StatusNotFound, publicMessage{Title: i18n.T(lang, "link.invalid.title"), Text: i18n.T(lang, "link.invalid.text")})
}

func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) {
	o, err := s.publicOrg(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	token := r.URL.Query().Get("t")
	p, err := s.cfg.Subscribers.PendingFor(r.Context(), o.ID, token)
	if err != nil {
		s.linkError(w, r, o, err)
		return
	}
	lang := requestLang(r)
	var topics []string
	for _, t := range p.Topics {
		topics = append(topics, i18n.T(lang, "topic."+t))
	}
	s.message(w, r, http.StatusOK, publicMessage{Org: o, Title: i18n.T(lang, "confirm.title"),
		Text:   i18n.T(lang, "confirm.text", p.Email, o.Name, strings.Join(topics, ", ")),
		Action: "/t/" + o.Slug + "/subscriptions/confirm", Token: token, Button: i18n.T(lang, "confirm.button")})
}

func (s *Server) confirmSubscription(w http.ResponseWriter, r *http.Request) {
	o, err := s.publicOrg(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	if err := s.cfg.Subscribers.Confirm(r.Context(), o.ID, r.PostFormValue("t")); err != nil {
		s.linkError(w, r, o, err)
		return
	}
	lang := requestLang(r)
	s.message(w, r, http.StatusOK, publicMessage{Org: o, Title: i18n.T(lang, "confirm.done.title"), Text: i18n.T(lang, "confirm.done.text", o.Name)})
}

// unsubscribeToken reads the token of an unsubscribe request: in the query
// for the RFC 8058 one-click POST (the URL of List-Unsubscribe, unchanged),
// in the form for the page's button.
func unsubscribeToken(r *http.Request) string {
	if t := r.URL.Query().Get("t"); t != "" {
		return t
	}
	return r.PostFormValue("t")
}

func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	o, err := s.publicOrg(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	if err := s.cfg.Subscribers.CheckUnsubscribe(o.ID, r.URL.Query().Get("t")); err != nil {
		s.linkError(w, r, o, err)
		return
	}
	lang := requestLang(r)
	s.message(w, r, http.StatusOK, publicMessage{Org: o, Title: i18n.T(lang, "unsubscribe.title"), Text: i18n.T(lang, "unsubscribe.text", o.Name),
		Action: "/t/" + o.Slug + "/unsubscribe", Token: r.URL.Query().Get("t"), Button: i18n.T(lang, "unsubscribe.button")})
}

func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	o, err := s.publicOrg(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	if err := s.cfg.Subscribers.Unsubscribe(r.Context(), o.ID, unsubscribeToken(r)); err != nil {
		s.linkError(w, r, o, err)
		return
	}
	lang := requestLang(r)
	s.message(w, r, http.StatusOK, publicMessage{Org: o, Title: i18n.T(lang, "unsubscribe.done.title"), Text: i18n.T(lang, "unsubscribe.done.text", o.Name)})
}

// objection reads an objection link: the notice must be the one of the
// path, so a link cannot be replayed against another notice.
func (s *Server) objection(r *http.Request, o *org.Org, token string) (*subprocessor.Notice, string, error) {
	email, ref, err := s.cfg.Subscribers.ObjectionLink(r.Context(), o.ID, token)
	if err != nil {
		return nil, "", err
	}
	if ref != r.PathValue("id") {
		return nil, "", apperr.New(apperr.NotFound, "the link is for another notice")
	}
	n, err := s.cfg.Subprocessors.GetNotice(r.Context(), o.ID, ref)
	return n, email, err
}

func (s *Server) objectMessage(o *org.Org, n *subprocessor.Notice, lang, email, token string) publicMessage {
	return publicMessage{Org: o, Title: i18n.T(lang, "object.title", n.SubprocessorName),
		Text:   i18n.T(lang, "object.text", email, i18n.T(lang, "notice.change."+n.Change), n.SubprocessorName, n.EffectiveOn),
		Action: "/t/" + o.Slug + "/notices/" + n.ID + "/object", Token: token, Button: i18n.T(lang, "object.button"), Reason: true}
}

func (s *Server) objectPage(w http.ResponseWriter, r *http.Request) {
	o, err := s.publicOrg(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	token := r.URL.Query().Get("t")
	n, email, err := s.objection(r, o, token)
	if err != nil {
		s.linkError(w, r, o, err)
		return
	}
	s.message(w, r, http.StatusOK, s.objectMessage(o, n, requestLang(r), email, token))
}

func (s *Server) object(w http.ResponseWriter, r *http.Request) {
	o, err := s.publicOrg(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	token := r.PostFormValue("t")
	n, email, err := s.objection(r, o, token)
	if err != nil {
		s.linkError(w, r, o, err)
		return
	}
	lang := requestLang(r)
	reason := r.PostFormValue("reason")
	if err := s.cfg.Subprocessors.Object(r.Context(), o.ID, n.ID, email, reason); err != nil {
		if apperr.CodeOf(err) != apperr.Invalid {
			Error(w, r, err)
			return
		}
		m := s.objectMessage(o, n, lang, email, token)
		m.Error, m.ReasonText = i18n.T(lang, "object.too_long", subprocessor.MaxObjection), reason
		s.message(w, r, http.StatusBadRequest, m)
		return
	}
	s.message(w, r, http.StatusOK, publicMessage{Org: o, Title: i18n.T(lang, "object.done.title"), Text: i18n.T(lang, "object.done.text", o.Name)})
}

// The Atom feed (RFC 4287) of an organisation's change notices.

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"xml:lang,attr"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomPerson  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	ID        string   `xml:"id"`
	Title     string   `xml:"title"`
	Published string   `xml:"published"`
	Updated   string   `xml:"updated"`
	Link      atomLink `xml:"link"`
	Content   atomText `xml:"content"`
}

func (s *Server) noticesFeed(w http.ResponseWriter, r *http.Request) {
	st, err := s.resolveSite(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	o := st.Org
	notices, err := s.cfg.Subprocessors.Notices(r.Context(), o.ID, trust.NoticesShown)
	if err != nil {
		Error(w, r, err)
		return
	}
	lang := requestLang(r)
	site := strings.TrimSuffix(s.cfg.BaseURL.String(), "/") + "/t/" + url.PathEscape(o.Slug) + "/subprocessors"
	// Entry ids must never change: a tag URI (RFC 4151) on the instance's
	// host and the notice's date and id, not a URL that moves with the page.
	host := s.cfg.BaseURL.Hostname()
	updated := o.CreatedAt
	feed := atomFeed{Lang: lang, ID: "tag:" + host + "," + o.CreatedAt.UTC().Format("2006-01-02") + ":subprocessor-notices/" + o.ID,
		Title: i18n.T(lang, "feed.title", o.Name), Author: atomPerson{Name: o.Name},
		Links: []atomLink{{Rel: "self", Type: "application/atom+xml", Href: site + "/notices.atom"}, {Rel: "alternate", Type: "text/html", Href: site}}}
	for _, n := range notices {
		if n.AnnouncedAt.After(updated) {
			updated = n.AnnouncedAt
		}
		at := n.AnnouncedAt.UTC().Format(time.RFC3339)
		feed.Entries = append(feed.Entries, atomEntry{
			ID:    "tag:" + host + "," + n.AnnouncedAt.UTC().Format("2006-01-02") + ":subprocessor-notice/" + n.ID,
			Title: i18n.T(lang, "notice.title."+n.Change, n.SubprocessorName, n.EffectiveOn), Published: at, Updated: at,
			Link:    atomLink{Rel: "alternate", Type: "text/html", Href: site + "#notice-" + n.ID},
			Content: atomText{Type: "text", Body: noticeText(lang, n)},
		})
	}
	feed.Updated = updated.UTC().Format(time.RFC3339)
	body, err := xml.MarshalIndent(feed, "", "  ")
	if err != nil {
		Error(w, r, err)
		return
	}
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Content-Language", lang)
	_, _ = w.Write(body)
}

// noticeText is a notice in words, for the feed.
func noticeText(lang string, n subprocessor.Notice) string {
	var b strings.Builder
	b.WriteString(i18n.T(lang, "notice.title."+n.Change, n.SubprocessorName, n.EffectiveOn))
	b.WriteString(".")
	if n.ShortReason != "" {
		b.WriteString(" " + i18n.T(lang, "notice.short_reason", n.NoticeDays) + ": " + n.ShortReason)
	}
	for _, c := range n.Changes {
		b.WriteString("\n" + i18n.T(lang, "subprocessor.field."+c.Field) + ": " + strconv.Quote(subprocessor.ValueLabel(lang, c.Field, c.From)) +
			" → " + strconv.Quote(subprocessor.ValueLabel(lang, c.Field, c.To)))
	}
	return b.String()
}
