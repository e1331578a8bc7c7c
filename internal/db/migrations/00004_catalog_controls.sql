-- The catalog (shared by the instance): frameworks, their requirement trees
-- and the mappings between requirements. An organisation's controls, the
-- frameworks it adopts, links from controls to requirements, requirements it
-- marks not applicable, its own mappings, and translations of user-written
-- fields that can appear publicly.

-- +goose Up
CREATE TABLE frameworks (
    id          TEXT NOT NULL PRIMARY KEY, -- nist-csf-2.0, or the identifier of an imported framework
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('builtin', 'oscal', 'custom')),
    description TEXT NOT NULL,
    notice      TEXT NOT NULL,             -- origin and license of the data
    baselines   TEXT NOT NULL,             -- JSON list of the baseline names
    digest      TEXT NOT NULL,             -- SHA-256 of the source files: tells whether a built-in is current
    data_version INTEGER NOT NULL,         -- catalog.DataVersion of the binary that stored a built-in; 0 for imports
    requirement_count INTEGER NOT NULL,    -- requirements that count (assessable, not withdrawn)
    imported_at BIGINT NOT NULL
);

CREATE TABLE requirements (
    framework_id TEXT NOT NULL REFERENCES frameworks (id),
    ref          TEXT NOT NULL,     -- the framework's identifier: GV.OC-01, A.5.1, ac-2.1
    label        TEXT NOT NULL,     -- as printed: AC-2(1)
    parent_ref   TEXT NOT NULL,     -- '' for a root
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL,
    text         TEXT NOT NULL,
    assessable   BOOLEAN NOT NULL,  -- counts in posture (grouping nodes do not)
    withdrawn    BOOLEAN NOT NULL,  -- kept for history, never counted
    position     INTEGER NOT NULL,  -- document order
    baselines    TEXT NOT NULL,     -- JSON list of the baselines that select it
    details      TEXT NOT NULL,     -- JSON: informative references, implementation examples, withdrawal targets
    PRIMARY KEY (framework_id, ref)
);

-- Built-in mappings (NIST's CSF 1.1 to 2.0 transition).
CREATE TABLE mappings (
    from_framework TEXT NOT NULL,
    from_ref       TEXT NOT NULL,
    to_framework   TEXT NOT NULL,
    to_ref         TEXT NOT NULL,
    relation       TEXT NOT NULL,
    source         TEXT NOT NULL, -- who says so: nist
    PRIMARY KEY (from_framework, from_ref, to_framework, to_ref),
    FOREIGN KEY (from_framework, from_ref) REFERENCES requirements (framework_id, ref),
    FOREIGN KEY (to_framework, to_ref) REFERENCES requirements (framework_id, ref)
);

-- Frameworks an organisation has adopted; baseline '' is the whole framework.
CREATE TABLE org_frameworks (
    org_id       TEXT NOT NULL REFERENCES orgs (id),
    framework_id TEXT NOT NULL REFERENCES frameworks (id),
    baseline     TEXT NOT NULL,
    adopted_at   BIGINT NOT NULL,
    PRIMARY KEY (org_id, framework_id)
);

CREATE TABLE controls (
    id                   TEXT NOT NULL PRIMARY KEY,
    org_id               TEXT NOT NULL REFERENCES orgs (id),
    library_key          TEXT NOT NULL, -- the library control it came from; '' for the organisation's own
    title                TEXT NOT NULL,
    description          TEXT NOT NULL,
    owner_id             TEXT REFERENCES users (id), -- a member of the organisation, checked by the service
    status               TEXT NOT NULL CHECK (status IN ('planned', 'in_progress', 'implemented')),
    visibility           TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    review_interval_days INTEGER NOT NULL,
    next_review_date     TEXT NOT NULL, -- YYYY-MM-DD in the organisation's time zone; '' when none
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    deleted_at           BIGINT,
    UNIQUE (org_id, id)
);
CREATE INDEX controls_org ON controls (org_id);
-- One control per library practice: adopting several frameworks reuses it.
CREATE UNIQUE INDEX controls_library_live ON controls (org_id, library_key) WHERE library_key <> '' AND deleted_at IS NULL;

-- A link needs the framework adopted by the same organisation and the
-- control of the same organisation: composite keys refuse anything else.
CREATE TABLE control_requirements (
    org_id          TEXT NOT NULL REFERENCES orgs (id),
    control_id      TEXT NOT NULL,
    framework_id    TEXT NOT NULL,
    requirement_ref TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (org_id, control_id, framework_id, requirement_ref),
    FOREIGN KEY (org_id, control_id) REFERENCES controls (org_id, id),
    FOREIGN KEY (org_id, framework_id) REFERENCES org_frameworks (org_id, framework_id),
    FOREIGN KEY (framework_id, requirement_ref) REFERENCES requirements (framework_id, ref)
);
CREATE INDEX control_requirements_req ON control_requirements (org_id, framework_id, requirement_ref);

-- Requirements the organisation marks not applicable, with the written
-- justification a Statement of Applicability shows. No row: applicable.
CREATE TABLE requirement_exclusions (
    org_id          TEXT NOT NULL REFERENCES orgs (id),
    framework_id    TEXT NOT NULL,
    requirement_ref TEXT NOT NULL,
    justification   TEXT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (org_id, framework_id, requirement_ref),
    FOREIGN KEY (org_id, framework_id) REFERENCES org_frameworks (org_id, framework_id),
    FOREIGN KEY (framework_id, requirement_ref) REFERENCES requirements (framework_id, ref)
);

-- Mappings an organisation adds between requirements of the catalog.
CREATE TABLE org_mappings (
    org_id         TEXT NOT NULL REFERENCES orgs (id),
    from_framework TEXT NOT NULL,
    from_ref       TEXT NOT NULL,
    to_framework   TEXT NOT NULL,
    to_ref         TEXT NOT NULL,
    relation       TEXT NOT NULL CHECK (relation IN ('equivalent', 'subset', 'superset', 'related')),
    note           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (org_id, from_framework, from_ref, to_framework, to_ref),
    FOREIGN KEY (from_framework, from_ref) REFERENCES requirements (framework_id, ref),
    FOREIGN KEY (to_framework, to_ref) REFERENCES requirements (framework_id, ref)
);

-- Translations of user-written fields that can appear publicly.
CREATE TABLE translations (
    org_id     TEXT NOT NULL REFERENCES orgs (id),
    entity     TEXT NOT NULL, -- control
    entity_id  TEXT NOT NULL, -- a row of the entity's table; the service checks it is the organisation's
    field      TEXT NOT NULL, -- title, description
    lang       TEXT NOT NULL, -- en, fr
    text       TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, entity, entity_id, field, lang)
);

-- +goose Down
DROP TABLE translations;
DROP TABLE org_mappings;
DROP TABLE requirement_exclusions;
DROP TABLE control_requirements;
DROP TABLE controls;
DROP TABLE org_frameworks;
DROP TABLE mappings;
DROP TABLE requirements;
DROP TABLE frameworks;
