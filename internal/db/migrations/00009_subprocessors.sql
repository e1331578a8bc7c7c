-- Subprocessors: the organisations that process personal data on the
-- organisation's behalf, for the GDPR Art. 30 registry and the DORA register
-- of information; each may name its own subcontractors (the chain).

-- +goose Up
CREATE TABLE subprocessors (
    id                  TEXT NOT NULL PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs (id),
    parent_id           TEXT,         -- the subprocessor whose subcontractor this is; NULL for a direct one
    name                TEXT NOT NULL,
    lei                 TEXT NOT NULL, -- legal entity identifier (ISO 17442), '' when unknown
    purpose             TEXT NOT NULL,
    function            TEXT NOT NULL, -- the function it supports
    data_categories     TEXT NOT NULL, -- JSON list
    processing_countries TEXT NOT NULL, -- JSON list of ISO 3166-1 alpha-2 codes
    storage_countries   TEXT NOT NULL, -- JSON list
    transfer_mechanism  TEXT NOT NULL CHECK (transfer_mechanism IN ('adequacy', 'scc', 'bcr', 'none', 'not_applicable')),
    dpa_status          TEXT NOT NULL CHECK (dpa_status IN ('signed', 'pending', 'none')),
    dpa_url             TEXT NOT NULL,
    website             TEXT NOT NULL,
    category            TEXT NOT NULL, -- hosting, e-mail, analytics, …
    status              TEXT NOT NULL CHECK (status IN ('planned', 'active', 'removed')),
    visibility          TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    since               TEXT NOT NULL, -- YYYY-MM-DD
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    deleted_at          BIGINT,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, parent_id) REFERENCES subprocessors (org_id, id)
);
CREATE INDEX subprocessors_org ON subprocessors (org_id);

-- +goose Down
DROP TABLE subprocessors;
