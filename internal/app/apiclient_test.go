package app_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
)

// apiClient calls the API of one organisation ("acme", with an admin
// owner) with a token of the given role.
type apiClient struct {
	app   *app.App
	org   *org.Org
	user  *identity.User
	token string
}

func newAPIClient(t *testing.T, a *app.App, role identity.Role) *apiClient {
	t.Helper()
	ctx := context.Background()
	o, err := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	// Its trust center is published, so the public pages answer.
	if err := a.Orgs.SetSettings(ctx, o.ID, org.Settings{PublicSite: true}); err != nil {
		t.Fatal(err)
	}
	u, _, err := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: "a@acme.example", Password: walkPassword}, identity.Admin)
	if err != nil {
		t.Fatal(err)
	}
	_, tok, err := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: u.ID, Name: "t", Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return &apiClient{app: a, org: o, user: u, token: tok}
}

// do sends a request with the client's token; a body is JSON.
func (c *apiClient) do(method, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+c.token)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	c.app.Web.Handler().ServeHTTP(w, r)
	return w
}
