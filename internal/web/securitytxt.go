package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/org"
)

// /.well-known/security.txt (RFC 9116) of the organisation published at /,
// written from its profile's security contact. It is generated on every
// request, so Expires always lies the same distance ahead and never needs
// renewing by hand; nothing is served when no organisation is published at
// / or its profile names no contact (RFC 9116 requires one).

// SecurityTxtValidity is how far ahead Expires lies: well under the year
// RFC 9116 recommends as a maximum, so a cached copy goes stale soon.
const SecurityTxtValidity = 180 * 24 * time.Hour

// SecurityTxt writes the file for profile p; canonical is its own address.
// It reports false when p names no contact.
func SecurityTxt(p *org.Profile, canonical string, now time.Time) (string, bool) {
	if p == nil || p.SecurityEmail == "" && p.SecurityURL == "" {
		return "", false
	}
	var b strings.Builder
	field := func(name, value string) {
		if value != "" {
			b.WriteString(name + ": " + value + "\n")
		}
	}
	if p.SecurityEmail != "" {
		field("Contact", "mailto:"+p.SecurityEmail)
	}
	field("Contact", p.SecurityURL)
	// Whole days, so the file is the same all day long and caches well.
	field("Expires", now.UTC().Truncate(24*time.Hour).Add(SecurityTxtValidity).Format(time.RFC3339))
	field("Encryption", p.OpenPGPKeyURL)
	field("Acknowledgments", p.AcknowledgementsURL)
	field("Preferred-Languages", strings.Join(p.PreferredLanguages, ", "))
	field("Canonical", canonical)
	field("Policy", p.DisclosurePolicyURL)
	return b.String(), true
}

func (s *Server) securityTxt(w http.ResponseWriter, r *http.Request) {
	notFound := apperr.New(apperr.NotFound, "no security.txt is published here")
	if s.cfg.Orgs == nil || s.cfg.Profile == nil {
		Error(w, r, notFound)
		return
	}
	// A mapped host's organisation, else the one of --public-org; the
	// file names its own address as canonical.
	base := strings.TrimSuffix(s.cfg.BaseURL.String(), "/")
	var o *org.Org
	if h := s.hostSite(r); h != "" {
		if mapped, err := s.cfg.Orgs.OrgForHost(r.Context(), h); err == nil {
			o, base = mapped, s.cfg.BaseURL.Scheme+"://"+h
		} else if apperr.CodeOf(err) != apperr.NotFound {
			Error(w, r, err)
			return
		}
	}
	if o == nil && s.cfg.PublicOrg != "" {
		o, _ = s.cfg.Orgs.BySlug(r.Context(), s.cfg.PublicOrg)
	}
	if o == nil || !o.PublicSite {
		Error(w, r, notFound) // an organisation publishes its contact with its trust center
		return
	}
	p, err := s.cfg.Profile.Get(r.Context(), o.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	body, ok := SecurityTxt(p, base+"/.well-known/security.txt", s.cfg.Clock.Now())
	if !ok {
		Error(w, r, notFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write([]byte(body))
}
