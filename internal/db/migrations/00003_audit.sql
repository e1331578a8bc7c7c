-- The tamper-evident audit log (DESIGN.md invariant 3): one hash chain per
-- organisation and one instance chain, their heads, personal data kept
-- beside the chain as clear text of salted commitments, and signed
-- checkpoints. docs/audit-chain.md describes the algorithm.

-- +goose Up
-- Days to keep the personal data of audit entries; 0: the default (13 months).
ALTER TABLE orgs ADD COLUMN audit_retention_days INTEGER NOT NULL DEFAULT 0;

-- The last entry of each chain. Appending locks this row, which makes the
-- sequence gap-free under concurrent writers.
CREATE TABLE audit_heads (
    chain      TEXT NOT NULL PRIMARY KEY, -- an organisation id, or 'instance'
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,             -- hex SHA-256 of the last entry; 64 zeros before the first
    updated_at BIGINT NOT NULL
);

CREATE TABLE audit_events (
    chain       TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    org_id      TEXT REFERENCES orgs (id), -- NULL on the instance chain
    at          BIGINT NOT NULL,
    action      TEXT NOT NULL,             -- resource.verb
    actor_type  TEXT NOT NULL,             -- user, token or system
    actor       TEXT NOT NULL,             -- the user or token id, or the system part
    target_type TEXT NOT NULL,
    target      TEXT NOT NULL,
    request     TEXT NOT NULL,             -- the HTTP request id, '' outside requests
    fields      TEXT NOT NULL,             -- canonical JSON of the changed fields, personal ones left out
    personal    TEXT NOT NULL,             -- canonical JSON: name -> hex commitment
    hash        TEXT NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_events_org_seq ON audit_events (org_id, seq);

-- The clear text behind the commitments; deleted after retention.
CREATE TABLE audit_personal (
    chain  TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    name   TEXT NOT NULL,
    org_id TEXT REFERENCES orgs (id),
    at     BIGINT NOT NULL,
    salt   TEXT NOT NULL, -- hex, 16 random bytes
    value  TEXT NOT NULL,
    PRIMARY KEY (chain, seq, name)
);
CREATE INDEX audit_personal_at ON audit_personal (at);

CREATE TABLE audit_checkpoints (
    chain     TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    hash      TEXT NOT NULL,
    at        BIGINT NOT NULL,
    key_id    TEXT NOT NULL,
    signature TEXT NOT NULL, -- base64 Ed25519 over the checkpoint's canonical JSON
    PRIMARY KEY (chain, seq)
);

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_personal;
DROP TABLE audit_events;
DROP TABLE audit_heads;
ALTER TABLE orgs DROP COLUMN audit_retention_days;
