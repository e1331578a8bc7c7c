-- The foundation: organisations (tenants), the job queue and outgoing mail.
-- One SQL text for SQLite and PostgreSQL: see internal/db/db.go for the type rules.

-- +goose Up
CREATE TABLE orgs (
    id         TEXT NOT NULL PRIMARY KEY,
    slug       TEXT NOT NULL,
    name       TEXT NOT NULL,
    time_zone  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
-- Slugs are normalised in Go (lower case); a deleted organisation frees its slug.
CREATE UNIQUE INDEX orgs_slug_live ON orgs (slug) WHERE deleted_at IS NULL;

-- The job queue (internal/job). slot makes periodic jobs unique per period
-- however many nodes enqueue them; one-off jobs use their id as slot.
CREATE TABLE jobs (
    id           TEXT NOT NULL PRIMARY KEY,
    kind         TEXT NOT NULL,
    slot         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts     INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    run_at       BIGINT NOT NULL,
    lease_until  BIGINT,
    last_error   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX jobs_kind_slot ON jobs (kind, slot);
CREATE INDEX jobs_claim ON jobs (state, run_at);

-- Outgoing e-mail (internal/mail): written in the caller's transaction, sent
-- by a job. org_id is empty for messages that belong to no organisation.
CREATE TABLE mail_messages (
    id         TEXT NOT NULL PRIMARY KEY,
    org_id     TEXT REFERENCES orgs (id),
    recipient  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    text_body  TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'held', 'failed')),
    last_error TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at    BIGINT
);
CREATE INDEX mail_messages_created ON mail_messages (created_at);

-- +goose Down
DROP TABLE mail_messages;
DROP TABLE jobs;
DROP TABLE orgs;
