package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
)

// Principal is who a request acts as, once a route's check has run.
type Principal struct {
	User    *identity.User
	Session *identity.Session        // console requests
	Token   *identity.TokenPrincipal // API requests
	Org     *org.Org                 // for organisation routes
	Role    identity.Role            // the caller's role in Org (for a token: the lower of its role and its owner's)
}

// sessionCookie holds the session token. HttpOnly and SameSite=Lax always;
// Secure when clients use HTTPS.
const sessionCookie = "evident_session"

// redirect is an error that answers with 303 See Other: checks use it to
// send a browser to sign in or to enrol a second factor.
type redirect struct{ to string }

func (r *redirect) Error() string { return "redirect to " + r.to }

// isAPI tells API requests (bearer tokens only) from console ones (cookies).
func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func sessionToken(r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
}

func (s *Server) secure(r *http.Request) bool { return s.cfg.BehindTLS || r.TLS != nil }

func (s *Server) client(r *http.Request) identity.Client {
	return identity.Client{IP: InfoFrom(r.Context()).ClientIP, UserAgent: r.UserAgent()}
}

// signedIn resolves the console session of a request: a live session whose
// second factor, if any, is done.
func (s *Server) signedIn(r *http.Request) (*Principal, error) {
	info := InfoFrom(r.Context())
	if info.Principal != nil {
		return info.Principal, nil
	}
	sess, u, err := s.cfg.Identity.SessionByToken(r.Context(), sessionToken(r))
	if err != nil {
		return nil, err
	}
	if sess.MFAPending {
		return nil, &redirect{to: "/app/login/2fa"}
	}
	p := &Principal{User: u, Session: sess}
	info.Principal, info.User = p, u.ID
	info.setActor(audit.Actor{Type: audit.ActorUser, ID: u.ID})
	return p, nil
}

// setActor names who the request's audit events are by.
func (i *Info) setActor(a audit.Actor) {
	if i.Audit != nil {
		i.Audit.Actor = a
	}
}

// checkAccount guards a user's own pages: any signed-in console user.
func (s *Server) checkAccount(r *http.Request) error {
	if isAPI(r) {
		return identity.ErrBadToken
	}
	_, err := s.signedIn(r)
	return err
}

// checkOrg returns the check of an organisation permission. On the API the
// organisation is the token's; on the console it is the {slug} of the path,
// and a non-member is told the organisation does not exist.
func (s *Server) checkOrg(p identity.Permission) Check {
	return func(r *http.Request) error {
		info := InfoFrom(r.Context())
		var pr *Principal
		if isAPI(r) {
			tp, err := s.cfg.Identity.AuthenticateToken(r.Context(), bearer(r))
			if err != nil {
				return err
			}
			o, err := s.cfg.Orgs.ByID(r.Context(), tp.Token.OrgID)
			if err != nil {
				return err
			}
			if o.RequireTOTP && !tp.User.TOTPEnabled {
				return apperr.New(apperr.Forbidden, "%s requires two-factor authentication: the token's owner must enrol in the console first", o.Name)
			}
			if tp.Token.Scope != "" && !(tp.Token.Scope == identity.ScopePush && p == identity.EvidencePush) {
				return apperr.New(apperr.Forbidden, "this token (scope %s) may only push evidence", tp.Token.Scope)
			}
			pr = &Principal{User: tp.User, Token: tp, Org: o, Role: tp.Role}
		} else {
			var err error
			if pr, err = s.signedIn(r); err != nil {
				return err
			}
			o, err := s.cfg.Orgs.BySlug(r.Context(), r.PathValue("slug"))
			if err != nil {
				return err
			}
			role, err := s.cfg.Identity.RoleIn(r.Context(), o.ID, pr.User.ID)
			if apperr.CodeOf(err) == apperr.NotFound {
				return apperr.New(apperr.NotFound, "no organisation with slug %q", o.Slug)
			}
			if err != nil {
				return err
			}
			if o.RequireTOTP && !pr.User.TOTPEnabled {
				return &redirect{to: "/app/account/2fa?required=" + url.QueryEscape(o.Slug)}
			}
			pr.Org, pr.Role = o, role
		}
		info.Principal, info.Org, info.User = pr, pr.Org.Slug, pr.User.ID
		if pr.Token != nil {
			info.setActor(audit.Actor{Type: audit.ActorToken, ID: pr.Token.Token.ID})
		} else {
			info.setActor(audit.Actor{Type: audit.ActorUser, ID: pr.User.ID})
		}
		if !identity.Allowed(pr.Role, p) {
			return apperr.New(apperr.Forbidden, "your role (%s) does not allow this", pr.Role)
		}
		return nil
	}
}

// principal returns the request's principal, set by its route's check.
func principal(r *http.Request) *Principal {
	if p := InfoFrom(r.Context()).Principal; p != nil {
		return p
	}
	panic("web: principal read on a route whose check sets none")
}

// safeNext accepts only local console paths as a place to go after sign-in,
// so the login form cannot be used to send someone elsewhere.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/app/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		if u, err := url.Parse(next); err == nil && u.Host == "" && u.Scheme == "" {
			return next
		}
	}
	return "/app/"
}
