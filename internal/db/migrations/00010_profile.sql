-- The organisation's public profile: hosting and architecture, the security
-- contact (security.txt), certifications and audit reports, the roadmap and
-- the GDPR commitments the trust center shows.

-- +goose Up
CREATE TABLE org_profiles (
    org_id                TEXT NOT NULL PRIMARY KEY REFERENCES orgs (id),
    hosting_provider      TEXT NOT NULL DEFAULT '',
    hosting_regions       TEXT NOT NULL DEFAULT '[]', -- JSON list of short texts
    architecture          TEXT NOT NULL DEFAULT '',
    security_email        TEXT NOT NULL DEFAULT '',   -- a role address, such as security@
    security_url          TEXT NOT NULL DEFAULT '',   -- https
    openpgp_key_url       TEXT NOT NULL DEFAULT '',
    disclosure_policy_url TEXT NOT NULL DEFAULT '',
    acknowledgements_url  TEXT NOT NULL DEFAULT '',
    preferred_languages   TEXT NOT NULL DEFAULT '[]', -- JSON list of BCP 47 tags
    updated_at            BIGINT NOT NULL
);

CREATE TABLE certifications (
    id                  TEXT NOT NULL PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs (id),
    kind                TEXT NOT NULL CHECK (kind IN ('iso27001', 'soc2', 'pentest', 'other')),
    name                TEXT NOT NULL,
    issued_on           TEXT NOT NULL DEFAULT '', -- YYYY-MM-DD
    expires_on          TEXT NOT NULL DEFAULT '', -- YYYY-MM-DD
    public              BOOLEAN NOT NULL DEFAULT FALSE,
    report_evidence_id  TEXT,                     -- the report, as (restricted) evidence
    -- ISO/IEC 27001
    certificate_number  TEXT NOT NULL DEFAULT '',
    certification_body  TEXT NOT NULL DEFAULT '',
    accreditation_body  TEXT NOT NULL DEFAULT '',
    scope               TEXT NOT NULL DEFAULT '', -- also the scope of a pen test
    soa_version         TEXT NOT NULL DEFAULT '',
    register_url        TEXT NOT NULL DEFAULT '',
    -- SOC 2
    soc2_type           TEXT NOT NULL DEFAULT '', -- '1' or '2'
    period_start        TEXT NOT NULL DEFAULT '',
    period_end          TEXT NOT NULL DEFAULT '',
    audit_firm          TEXT NOT NULL DEFAULT '',
    opinion             TEXT NOT NULL DEFAULT '', -- unqualified, qualified, adverse, disclaimer
    exceptions          INTEGER NOT NULL DEFAULT 0,
    cuecs               TEXT NOT NULL DEFAULT '', -- complementary user-entity controls
    carve_outs          TEXT NOT NULL DEFAULT '', -- carved-out subservice organisations
    bridge_letter_until TEXT NOT NULL DEFAULT '',
    -- penetration test
    firm                TEXT NOT NULL DEFAULT '',
    tested_on           TEXT NOT NULL DEFAULT '',
    open_critical       INTEGER NOT NULL DEFAULT 0,
    open_high           INTEGER NOT NULL DEFAULT 0,
    open_medium         INTEGER NOT NULL DEFAULT 0,
    open_low            INTEGER NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    deleted_at          BIGINT,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, report_evidence_id) REFERENCES evidence (org_id, id)
);
CREATE INDEX certifications_org ON certifications (org_id);

CREATE TABLE roadmap_items (
    id          TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    target      TEXT NOT NULL, -- free text, such as 2027 Q2
    status      TEXT NOT NULL CHECK (status IN ('planned', 'in_progress', 'done')),
    public      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    deleted_at  BIGINT,
    UNIQUE (org_id, id)
);
CREATE INDEX roadmap_items_org ON roadmap_items (org_id);

CREATE TABLE gdpr_commitments (
    org_id     TEXT NOT NULL REFERENCES orgs (id),
    article    TEXT NOT NULL CHECK (article IN ('15', '17', '28', '30', '32', '33-34')),
    text       TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, article)
);

-- +goose Down
DROP TABLE gdpr_commitments;
DROP TABLE roadmap_items;
DROP TABLE certifications;
DROP TABLE org_profiles;
