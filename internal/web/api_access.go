package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evident-isms/evident/internal/access"
	"github.com/evident-isms/evident/internal/identity"
)

// Access requests through the API: read by those who read confidential
// content, handled by those who publish to the trust center, as in the
// console.

// AccessRequestPath is exported because huma reads parameters only from
// exported embedded structs.
type AccessRequestPath struct {
	ID string `path:"id" maxLength:"64"`
}

type accessRequestsOutput struct{ Body []access.Request }

func (s *Server) registerAccessAPI(api huma.API) {
	tags := []string{"Access requests"}
	org := func(ctx context.Context) string { return apiPrincipal(ctx).Org.ID }
	operation(api, identity.ConfidentialRead, huma.Operation{OperationID: "list-access-requests", Method: http.MethodGet, Path: "/access-requests",
		Summary: "List access requests", Tags: tags,
		Description: "Requests visitors of the trust center sent for restricted documents, newest first: who asked, for which document, why, and whether it was handled."},
		func(ctx context.Context, _ *struct{}) (*accessRequestsOutput, error) {
			list, err := s.cfg.Access.List(ctx, org(ctx))
			return &accessRequestsOutput{Body: nonNil(list)}, err
		})
	operation(api, identity.ContentPublish, huma.Operation{OperationID: "mark-access-request-handled", Method: http.MethodPost,
		Path: "/access-requests/{id}/handled", Summary: "Mark an access request handled", Tags: tags, DefaultStatus: http.StatusNoContent,
		Description: "Records that the request was answered, and by whom (the token's owner). Marking a handled request again changes nothing."},
		func(ctx context.Context, in *AccessRequestPath) (*empty, error) {
			return &empty{}, s.cfg.Access.MarkHandled(ctx, org(ctx), in.ID)
		})
	operation(api, identity.ContentPublish, huma.Operation{OperationID: "delete-access-request", Method: http.MethodDelete,
		Path: "/access-requests/{id}", Summary: "Delete an access request at once", Tags: tags, DefaultStatus: http.StatusNoContent,
		Description: "For an erasure request, or spam: the request is forgotten now rather than a year after it was sent."},
		func(ctx context.Context, in *AccessRequestPath) (*empty, error) {
			return &empty{}, s.cfg.Access.Delete(ctx, org(ctx), in.ID)
		})
}
