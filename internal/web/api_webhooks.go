package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/webhook"
)

// Webhook endpoints through the API: admins only, like the organisation's
// settings, since an endpoint sends the organisation's events out.

// WebhookPath is exported because huma reads parameters only from exported
// embedded structs.
type WebhookPath struct {
	ID string `path:"id" maxLength:"64"`
}

// WebhookMessagePath names one message of the delivery log.
type WebhookMessagePath struct {
	Message string `path:"message" maxLength:"64"`
}

type webhookBody struct {
	URL         string   `json:"url" minLength:"1" maxLength:"2048" doc:"http:// or https://, without user name, password or #fragment."`
	Description string   `json:"description,omitempty" maxLength:"200"`
	Topics      []string `json:"topics" minItems:"1" maxItems:"20" doc:"What the endpoint receives. subprocessors: subprocessor change notices (subprocessor.notice.created)."`
	Active      *bool    `json:"active,omitempty" doc:"Default true; a paused endpoint receives nothing."`
}

func (b webhookBody) input() webhook.Input {
	return webhook.Input{URL: b.URL, Description: b.Description, Topics: b.Topics, Active: b.Active == nil || *b.Active}
}

type webhookInput struct {
	Body webhookBody
}

type webhookUpdateInput struct {
	WebhookPath
	Body webhookBody
}

type webhookOutput struct{ Body *webhook.Endpoint }

type webhooksOutput struct{ Body []webhook.Endpoint }

type webhookSecretOutput struct {
	Body struct {
		Endpoint *webhook.Endpoint `json:"endpoint"`
		Secret   string            `json:"secret" doc:"The signing secret (whsec_…), shown only in this answer. Verify each delivery's webhook-signature with it."`
	}
}

type webhookDeliveriesInput struct {
	WebhookPath
	Limit int `query:"limit" minimum:"1" maximum:"200" default:"50" doc:"How many of the newest messages."`
}

type webhookDeliveriesOutput struct{ Body []webhook.Message }

type webhookMessageOutput struct{ Body *webhook.Message }

func (s *Server) registerWebhookAPI(api huma.API) {
	tags := []string{"Webhooks"}
	org := func(ctx context.Context) string { return apiPrincipal(ctx).Org.ID }
	secretOut := func(e *webhook.Endpoint, secret string, err error) (*webhookSecretOutput, error) {
		if err != nil {
			return nil, err
		}
		out := &webhookSecretOutput{}
		out.Body.Endpoint, out.Body.Secret = e, secret
		return out, nil
	}
	perm := identity.SettingsManage
	operation(api, perm, huma.Operation{OperationID: "list-webhooks", Method: http.MethodGet, Path: "/webhooks",
		Summary: "List webhook endpoints", Tags: tags},
		func(ctx context.Context, _ *empty) (*webhooksOutput, error) {
			list, err := s.cfg.Webhooks.List(ctx, org(ctx))
			return &webhooksOutput{Body: nonNil(list)}, err
		})
	operation(api, perm, huma.Operation{OperationID: "create-webhook", Method: http.MethodPost, Path: "/webhooks",
		Summary: "Add a webhook endpoint", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "The answer holds the endpoint's signing secret, which is never shown again."},
		func(ctx context.Context, in *webhookInput) (*webhookSecretOutput, error) {
			return secretOut(s.cfg.Webhooks.Create(ctx, org(ctx), in.Body.input()))
		})
	operation(api, perm, huma.Operation{OperationID: "get-webhook", Method: http.MethodGet, Path: "/webhooks/{id}",
		Summary: "Read a webhook endpoint", Tags: tags},
		func(ctx context.Context, in *WebhookPath) (*webhookOutput, error) {
			e, err := s.cfg.Webhooks.Get(ctx, org(ctx), in.ID)
			return &webhookOutput{Body: e}, err
		})
	operation(api, perm, huma.Operation{OperationID: "update-webhook", Method: http.MethodPut, Path: "/webhooks/{id}",
		Summary: "Replace a webhook endpoint's settings", Tags: tags, Description: "The signing secret stays."},
		func(ctx context.Context, in *webhookUpdateInput) (*webhookOutput, error) {
			e, err := s.cfg.Webhooks.Update(ctx, org(ctx), in.ID, in.Body.input())
			return &webhookOutput{Body: e}, err
		})
	operation(api, perm, huma.Operation{OperationID: "delete-webhook", Method: http.MethodDelete, Path: "/webhooks/{id}",
		Summary: "Delete a webhook endpoint", Tags: tags, DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *WebhookPath) (*empty, error) {
			return &empty{}, s.cfg.Webhooks.Delete(ctx, org(ctx), in.ID)
		})
	operation(api, perm, huma.Operation{OperationID: "rotate-webhook-secret", Method: http.MethodPost, Path: "/webhooks/{id}/rotate-secret",
		Summary: "Replace a webhook endpoint's signing secret", Tags: tags,
		Description: "Deliveries from now on, retries included, are signed with the new secret, shown only in this answer."},
		func(ctx context.Context, in *WebhookPath) (*webhookSecretOutput, error) {
			return secretOut(s.cfg.Webhooks.RotateSecret(ctx, org(ctx), in.ID))
		})
	operation(api, perm, huma.Operation{OperationID: "list-webhook-deliveries", Method: http.MethodGet, Path: "/webhooks/{id}/deliveries",
		Summary: "The delivery log of a webhook endpoint", Tags: tags,
		Description: "The newest messages first, each with every attempt: when, the HTTP status, why it failed. Kept 30 days."},
		func(ctx context.Context, in *webhookDeliveriesInput) (*webhookDeliveriesOutput, error) {
			list, err := s.cfg.Webhooks.Deliveries(ctx, org(ctx), in.ID, in.Limit)
			return &webhookDeliveriesOutput{Body: nonNil(list)}, err
		})
	operation(api, perm, huma.Operation{OperationID: "test-webhook", Method: http.MethodPost, Path: "/webhooks/{id}/test",
		Summary: "Send a test event (webhook.test) to a webhook endpoint", Tags: tags, DefaultStatus: http.StatusAccepted},
		func(ctx context.Context, in *WebhookPath) (*webhookMessageOutput, error) {
			m, err := s.cfg.Webhooks.SendTest(ctx, org(ctx), in.ID)
			return &webhookMessageOutput{Body: m}, err
		})
	operation(api, perm, huma.Operation{OperationID: "redeliver-webhook-message", Method: http.MethodPost,
		Path: "/webhooks/messages/{message}/redeliver", Summary: "Deliver a dead message again", Tags: tags, DefaultStatus: http.StatusAccepted,
		Description: "Only a dead message: it is queued with a fresh set of attempts and keeps its webhook-id."},
		func(ctx context.Context, in *WebhookMessagePath) (*webhookMessageOutput, error) {
			m, err := s.cfg.Webhooks.Redeliver(ctx, org(ctx), in.Message)
			return &webhookMessageOutput{Body: m}, err
		})
}
