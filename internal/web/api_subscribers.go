package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/subscriber"
)

// Subscribers through the API: admins only, as they are e-mail addresses of
// people outside the organisation.

// SubscriberPath is exported because huma reads parameters only from
// exported embedded structs.
type SubscriberPath struct {
	ID string `path:"id" maxLength:"64"`
}

type subscribersOutput struct{ Body []subscriber.Subscriber }

func (s *Server) registerSubscriberAPI(api huma.API) {
	tags := []string{"Subscribers"}
	org := func(ctx context.Context) string { return apiPrincipal(ctx).Org.ID }
	operation(api, identity.SettingsManage, huma.Operation{OperationID: "list-subscribers", Method: http.MethodGet, Path: "/subscribers",
		Summary: "List subscribers", Tags: tags,
		Description: "People who subscribed on the public site, newest first, with their state, topics, language and consent time."},
		func(ctx context.Context, _ *struct{}) (*subscribersOutput, error) {
			list, err := s.cfg.Subscribers.List(ctx, org(ctx))
			return &subscribersOutput{Body: list}, err
		})
	operation(api, identity.SettingsManage, huma.Operation{OperationID: "delete-subscriber", Method: http.MethodDelete, Path: "/subscribers/{id}",
		Summary: "Delete a subscriber at once", Tags: tags, DefaultStatus: http.StatusNoContent,
		Description: "For an erasure request: the address is forgotten now rather than 30 days after unsubscribing."},
		func(ctx context.Context, in *SubscriberPath) (*empty, error) {
			return &empty{}, s.cfg.Subscribers.Delete(ctx, org(ctx), in.ID)
		})
}
