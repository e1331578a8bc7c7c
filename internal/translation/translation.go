// Package translation keeps the translations of user-written fields that
// public pages show: one table, translations(org_id, entity, entity_id,
// field, lang, text), for every entity (DESIGN.md, look and feel).
//
// The table cannot reference the entities' tables (an entity_id names a row
// of a different table for each entity), so the registry below says, for
// each entity, which table holds its rows and which fields may be
// translated, and the service checks that a row belongs to the organisation
// before it writes a translation of it.
package translation

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/valid"
)

// Languages are the languages public pages are shown in.
var Languages = []string{"en", "fr"}

// Field is a field that may be translated, with the length limit of the
// entity's own field: a translation is never longer than the original may
// be.
type Field struct {
	Name string `json:"name"`
	Max  int    `json:"max_length"`
}

// entity says where an entity's rows live. Table and column names are
// constants of this file, never input.
type entity struct {
	noun    string // in messages: "no such measure"
	table   string
	key     string // the column entity_id matches
	heading string // the column that names a row, "" when none does
	deleted bool   // the table soft-deletes: rows with deleted_at set are gone
	target  string // the audit target type of the entity's own events
	fields  []Field
}

// entities is the registry. The limits repeat those of the owning packages
// (which import this one through control, so it cannot import them); a test
// compares them.
var entities = map[string]entity{
	"control": {noun: "control", table: "controls", key: "id", heading: "title", deleted: true, target: "control",
		fields: []Field{{"title", 200}, {"description", 10000}}},
	// Public evidence items, as the trust center lists them.
	"evidence": {noun: "evidence item", table: "evidence", key: "id", heading: "title", deleted: true, target: "evidence",
		fields: []Field{{"title", 200}, {"description", 10000}}},
	"measure": {noun: "measure", table: "measures", key: "id", heading: "title", deleted: true, target: "measure",
		fields: []Field{{"title", 200}, {"description", 10000}}},
	"subprocessor": {noun: "subprocessor", table: "subprocessors", key: "id", heading: "name", deleted: true, target: "subprocessor",
		fields: []Field{{"purpose", 2000}, {"function", 200}}},
	"certification": {noun: "certification", table: "certifications", key: "id", heading: "name", deleted: true, target: "certification",
		fields: []Field{{"name", 200}, {"scope", 5000}}},
	"roadmap": {noun: "roadmap item", table: "roadmap_items", key: "id", heading: "title", deleted: true, target: "roadmap_item",
		fields: []Field{{"title", 200}, {"description", 5000}}},
	// A commitment is named by its article (15, 32, 33-34); clearing it
	// deletes the row.
	"gdpr": {noun: "GDPR commitment", table: "gdpr_commitments", key: "article", heading: "article", target: "gdpr_commitment",
		fields: []Field{{"text", 5000}}},
	// The profile is one row per organisation, named by the organisation's id.
	"profile": {noun: "organisation profile", table: "org_profiles", key: "org_id", target: "org",
		fields: []Field{{"architecture", 5000}}},
}

// Entities lists the entities that have translatable fields, sorted.
func Entities() []string {
	out := make([]string, 0, len(entities))
	for name := range entities {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Fields returns an entity's translatable fields, or reports false for an
// unknown entity.
func Fields(entityName string) ([]Field, bool) {
	e, ok := entities[entityName]
	return slices.Clone(e.fields), ok
}

// Translation is one translated field.
type Translation struct {
	Field string `json:"field"`
	Lang  string `json:"lang"`
	Text  string `json:"text"`
}

// Item is a row that can be translated: what names it and the original of
// each translatable field.
type Item struct {
	Entity   string
	ID       string
	Name     string            // the row's title or name, the article of a GDPR commitment, "" for the profile
	Original map[string]string // field → the text as written
}

// Service sets and reads translations.
type Service struct {
	db    *db.DB
	clock clock.Clock
	audit *audit.Log
}

// NewService returns the translation service.
func NewService(d *db.DB, c clock.Clock, a *audit.Log) *Service {
	return &Service{db: d, clock: c, audit: a}
}

func lookupEntity(name string) (entity, error) {
	e, ok := entities[name]
	if !ok {
		return e, apperr.Field("entity", "entity %q has no translatable fields; these do: %s", name, strings.Join(Entities(), ", "))
	}
	return e, nil
}

func checkLang(lang string) error {
	if !slices.Contains(Languages, lang) {
		return apperr.Field("lang", "language %q is not one of %s", lang, strings.Join(Languages, ", "))
	}
	return nil
}

func (e entity) field(name string) (Field, error) {
	for _, f := range e.fields {
		if f.Name == name {
			return f, nil
		}
	}
	names := make([]string, len(e.fields))
	for i, f := range e.fields {
		names[i] = f.Name
	}
	return Field{}, apperr.Field("field", "field %q of a %s cannot be translated; %s can", name, e.noun, strings.Join(names, ", "))
}

// item reads the row entityID of the organisation, refusing a row of another
// organisation, a deleted one or one that does not exist alike.
func (e entity) item(ctx context.Context, q db.Querier, name, orgID, entityID string) (*Item, error) {
	cols := make([]string, 0, len(e.fields)+1)
	for _, f := range e.fields {
		cols = append(cols, f.Name)
	}
	if e.heading != "" {
		cols = append(cols, e.heading)
	}
	query := `SELECT ` + strings.Join(cols, ", ") + ` FROM ` + e.table + ` WHERE org_id = $1 AND ` + e.key + ` = $2`
	if e.deleted {
		query += ` AND deleted_at IS NULL`
	}
	values := make([]string, len(cols))
	dest := make([]any, len(cols))
	for i := range values {
		dest[i] = &values[i]
	}
	err := q.QueryRowContext(ctx, query, orgID, entityID).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no such %s", e.noun)
	}
	if err != nil {
		return nil, apperr.Wrap(err, "read "+e.noun)
	}
	it := &Item{Entity: name, ID: entityID, Original: map[string]string{}}
	for i, f := range e.fields {
		it.Original[f.Name] = values[i]
	}
	if e.heading != "" {
		it.Name = values[len(values)-1]
	}
	return it, nil
}

// Item returns a row of the organisation that can be translated, with its
// original texts.
func (s *Service) Item(ctx context.Context, orgID, entityName, entityID string) (*Item, error) {
	e, err := lookupEntity(entityName)
	if err != nil {
		return nil, err
	}
	return e.item(ctx, s.db.Read, entityName, orgID, entityID)
}

// Set sets, or with an empty text removes, the translation of a field of a
// row of the organisation, and records it in the audit log.
func (s *Service) Set(ctx context.Context, orgID, entityName, entityID, field, lang, text string) error {
	e, err := lookupEntity(entityName)
	if err != nil {
		return err
	}
	f, err := e.field(field)
	if err != nil {
		return err
	}
	if err := checkLang(lang); err != nil {
		return err
	}
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) > f.Max || !valid.PlainText(text) {
		return apperr.Field("text", "the %s is text of at most %d characters", field, f.Max)
	}
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := e.item(ctx, tx, entityName, orgID, entityID); err != nil {
			return err
		}
		var err error
		if text == "" {
			_, err = tx.ExecContext(ctx, `DELETE FROM translations WHERE org_id = $1 AND entity = $2 AND entity_id = $3
				AND field = $4 AND lang = $5`, orgID, entityName, entityID, field, lang)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO translations (org_id, entity, entity_id, field, lang, text, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (org_id, entity, entity_id, field, lang)
				DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`,
				orgID, entityName, entityID, field, lang, text, clock.Micros(s.clock.Now()))
		}
		if err != nil {
			return err
		}
		// The target is the row itself, so its audit trail shows its
		// translations beside its other changes.
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "translation.set", TargetType: e.target, TargetID: entityID,
			Fields: map[string]any{"field": field, "lang": lang, "text": text}})
	}), "set translation")
}

// List returns the translations of a row of the organisation, in the
// registry's order of fields, then in the order of Languages.
func (s *Service) List(ctx context.Context, orgID, entityName, entityID string) ([]Translation, error) {
	e, err := lookupEntity(entityName)
	if err != nil {
		return nil, err
	}
	if _, err := e.item(ctx, s.db.Read, entityName, orgID, entityID); err != nil {
		return nil, err
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT field, lang, text FROM translations
		WHERE org_id = $1 AND entity = $2 AND entity_id = $3`, orgID, entityName, entityID)
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
	if err := rows.Err(); err != nil {
		return nil, apperr.Wrap(err, "read translations")
	}
	// Sorted here rather than in SQL: the engines' collations differ.
	fieldRank := func(name string) int {
		return slices.IndexFunc(e.fields, func(f Field) bool { return f.Name == name })
	}
	slices.SortFunc(out, func(a, b Translation) int {
		if d := fieldRank(a.Field) - fieldRank(b.Field); d != 0 {
			return d
		}
		return slices.Index(Languages, a.Lang) - slices.Index(Languages, b.Lang)
	})
	return out, nil
}

// Lookup returns every translation into lang of the organisation's rows of
// an entity, entity_id → field → text, for a public page to show with Pick.
// Translations of deleted rows may be among them; a page looks up only the
// rows it shows.
func (s *Service) Lookup(ctx context.Context, orgID, lang, entityName string) (map[string]map[string]string, error) {
	if _, err := lookupEntity(entityName); err != nil {
		return nil, err
	}
	if err := checkLang(lang); err != nil {
		return nil, err
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT entity_id, field, text FROM translations
		WHERE org_id = $1 AND entity = $2 AND lang = $3`, orgID, entityName, lang)
	if err != nil {
		return nil, apperr.Wrap(err, "read translations")
	}
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		var id, field, text string
		if err := rows.Scan(&id, &field, &text); err != nil {
			return nil, apperr.Wrap(err, "read translations")
		}
		if out[id] == nil {
			out[id] = map[string]string{}
		}
		out[id][field] = text
	}
	return out, apperr.Wrap(rows.Err(), "read translations")
}

// Pick returns the translation of a row's field from a Lookup, or fallback
// (the original) when there is none.
func Pick(m map[string]map[string]string, id, field, fallback string) string {
	if t := m[id][field]; t != "" {
		return t
	}
	return fallback
}
