package control

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
)

// Translations of user-written fields that can appear publicly live in one
// table (DESIGN.md, look and feel). Controls are the first entity; later
// packages add theirs to translatable.

// translatable lists, per entity, the fields that may be translated.
var translatable = map[string][]string{"control": {"title", "description"}}

// Languages are the languages public pages are shown in.
var Languages = []string{"en", "fr"}

// Translation is one translated field.
type Translation struct {
	Field string `json:"field"`
	Lang  string `json:"lang"`
	Text  string `json:"text"`
}

// SetTranslation sets, or with an empty text removes, the translation of a
// control's field.
func (s *Service) SetTranslation(ctx context.Context, orgID, controlID, field, lang, text string) error {
	if !slices.Contains(translatable["control"], field) {
		return apperr.Field("field", "field %q cannot be translated; title and description can", field)
	}
	if !slices.Contains(Languages, lang) {
		return apperr.Field("lang", "language %q is not one of %s", lang, strings.Join(Languages, ", "))
	}
	text = strings.TrimSpace(text)
	limit := MaxDescription
	if field == "title" {
		limit = MaxTitle
	}
	if utf8.RuneCountInString(text) > limit || !catalog.PlainText(text) {
		return apperr.Field("text", "the %s is at most %d characters", field, limit)
	}
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := getControl(ctx, tx, orgID, controlID); err != nil {
			return err
		}
		var err error
		if text == "" {
			_, err = tx.ExecContext(ctx, `DELETE FROM translations WHERE org_id = $1 AND entity = 'control' AND entity_id = $2
				AND field = $3 AND lang = $4`, orgID, controlID, field, lang)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO translations (org_id, entity, entity_id, field, lang, text, updated_at)
				VALUES ($1, 'control', $2, $3, $4, $5, $6) ON CONFLICT (org_id, entity, entity_id, field, lang)
				DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`,
				orgID, controlID, field, lang, text, clock.Micros(s.clock.Now()))
		}
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "translation.set", TargetType: "control", TargetID: controlID,
			Fields: map[string]any{"field": field, "lang": lang, "text": text}})
	}), "set translation")
}

// Translations returns a control's translations.
func (s *Service) Translations(ctx context.Context, orgID, controlID string) ([]Translation, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT field, lang, text FROM translations
		WHERE org_id = $1 AND entity = 'control' AND entity_id = $2 ORDER BY field, lang`, orgID, controlID)
	if err != nil {
		return nil, apperr.Wrap(err, "read translations")
	}
	defer rows.Close()
	out := []Translation{}
	for rows.Next() {
		var t Translation
		if err := rows.Scan(&t.Field, &t.Lang, &t.Text); err != nil {
			return nil, apperr.Wrap(err, "read translations")
		}
		out = append(out, t)
	}
	return out, apperr.Wrap(rows.Err(), "read translations")
}
