package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/translation"
)

// Translations of the public texts of every entity that has some: the
// fields of each entity are translation.Fields; a control's are also under
// /controls/{id}/translations.

// TranslationPath names a translatable row. It is exported because huma
// reads parameters only from exported embedded structs.
type TranslationPath struct {
	Entity string `path:"entity" enum:"certification,control,evidence,gdpr,measure,profile,roadmap,subprocessor" doc:"What the id names."`
	ID     string `path:"id" maxLength:"64" doc:"The row's id; for gdpr the article (32, 33-34); for profile the organisation's id."`
}

type entityTranslationsOutput struct{ Body []translation.Translation }

type entityTranslationInput struct {
	TranslationPath
	Body struct {
		Field string `json:"field" maxLength:"50" doc:"control, measure: title or description; subprocessor: purpose or function; certification: name or scope; roadmap: title or description; gdpr: text; profile: architecture."`
		Lang  string `json:"lang" enum:"en,fr"`
		Text  string `json:"text" maxLength:"10000" doc:"Plain text no longer than the field itself may be; empty removes the translation."`
	}
}

func (s *Server) registerTranslationAPI(api huma.API) {
	tags := []string{"Translations"}
	org := func(ctx context.Context) string { return apiPrincipal(ctx).Org.ID }
	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-entity-translations", Method: http.MethodGet,
		Path: "/translations/{entity}/{id}", Summary: "Translations of a row's public texts", Tags: tags},
		func(ctx context.Context, in *TranslationPath) (*entityTranslationsOutput, error) {
			ts, err := s.cfg.Translations.List(ctx, org(ctx), in.Entity, in.ID)
			return &entityTranslationsOutput{Body: ts}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "set-entity-translation", Method: http.MethodPut,
		Path: "/translations/{entity}/{id}", Summary: "Set or remove a translation of a row's public text", Tags: tags,
		DefaultStatus: http.StatusNoContent,
		Description:   "The public trust center shows the translation in its language and the original where there is none."},
		func(ctx context.Context, in *entityTranslationInput) (*empty, error) {
			b := in.Body
			return &empty{}, s.cfg.Translations.Set(ctx, org(ctx), in.Entity, in.ID, b.Field, b.Lang, b.Text)
		})
}
