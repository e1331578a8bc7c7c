package control

import (
	"context"

	"github.com/evident-isms/evident/internal/translation"
)

// Translations of a control's title and description are kept by the
// translation package with those of every other entity; these methods keep
// the control's own API.

// Languages are the languages public pages are shown in.
var Languages = translation.Languages

// Translation is one translated field.
type Translation = translation.Translation

// SetTranslation sets, or with an empty text removes, the translation of a
// control's field.
func (s *Service) SetTranslation(ctx context.Context, orgID, controlID, field, lang, text string) error {
	return s.translations.Set(ctx, orgID, "control", controlID, field, lang, text)
}

// Translations returns a control's translations.
func (s *Service) Translations(ctx context.Context, orgID, controlID string) ([]Translation, error) {
	return s.translations.List(ctx, orgID, "control", controlID)
}
