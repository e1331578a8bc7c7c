-- Evidence items of an organisation and their links to controls. A file's
-- bytes live in the blob store under orgs/{org}/sha256/{hex}; the row
-- references them only after they are durable.

-- +goose Up
CREATE TABLE evidence (
    id            TEXT NOT NULL PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs (id),
    kind          TEXT NOT NULL CHECK (kind IN ('file', 'link', 'note', 'attestation', 'check', 'policy_version')),
    title         TEXT NOT NULL,
    description   TEXT NOT NULL,
    collected_on  TEXT NOT NULL, -- YYYY-MM-DD the uploader says it was collected (organisation's time zone)
    valid_until   TEXT NOT NULL, -- YYYY-MM-DD, the last day it is current; capped per kind
    visibility    TEXT NOT NULL CHECK (visibility IN ('public', 'private', 'restricted')),
    owner_id      TEXT REFERENCES users (id),
    url           TEXT NOT NULL, -- kind link
    attestor_name TEXT NOT NULL, -- kind attestation: the independent party
    attestor_firm TEXT NOT NULL,
    blob_sha256   TEXT NOT NULL, -- kind file
    blob_size     BIGINT NOT NULL,
    media_type    TEXT NOT NULL, -- taken from the content, never from the client
    filename      TEXT NOT NULL,
    scan_state    TEXT NOT NULL CHECK (scan_state IN ('', 'not_scanned', 'clean', 'quarantined')),
    scan_detail   TEXT NOT NULL,
    created_by    TEXT NOT NULL, -- the user or token id that uploaded it
    created_at    BIGINT NOT NULL, -- when it was uploaded: recorded by the system
    updated_at    BIGINT NOT NULL,
    deleted_at    BIGINT,
    UNIQUE (org_id, id)
);
CREATE INDEX evidence_org ON evidence (org_id, valid_until);
CREATE INDEX evidence_blob ON evidence (org_id, blob_sha256);

-- kind, valid_until and counts repeat the item's, so that the posture
-- reads one covering index instead of probing every item.
CREATE TABLE evidence_controls (
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    evidence_id TEXT NOT NULL,
    control_id  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    counts      BOOLEAN NOT NULL, -- false while the item is deleted or quarantined
    PRIMARY KEY (org_id, evidence_id, control_id),
    FOREIGN KEY (org_id, evidence_id) REFERENCES evidence (org_id, id),
    FOREIGN KEY (org_id, control_id) REFERENCES controls (org_id, id)
);
CREATE INDEX evidence_controls_control ON evidence_controls (org_id, control_id);
CREATE INDEX evidence_controls_posture ON evidence_controls (org_id, counts, kind, control_id, valid_until);

-- +goose Down
DROP TABLE evidence_controls;
DROP TABLE evidence;
