-- Public subscriptions (one model for every topic: subprocessor notices now,
-- the status page later), the change notices of public subprocessors and the
-- objections subscribers send back, the notice period of each organisation,
-- and the extra headers an outgoing message carries (List-Unsubscribe).

-- +goose Up
ALTER TABLE orgs ADD COLUMN subprocessor_notice_days INTEGER NOT NULL DEFAULT 30;
ALTER TABLE mail_messages ADD COLUMN headers TEXT NOT NULL DEFAULT '{}'; -- JSON object of allowed extra headers

CREATE TABLE subscribers (
    id              TEXT NOT NULL PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs (id),
    email           TEXT NOT NULL,            -- as given
    email_norm      TEXT NOT NULL,            -- normalised in Go, unique per organisation
    lang            TEXT NOT NULL,            -- en, fr: the language of every message
    pending_lang    TEXT NOT NULL,            -- the language of a request not confirmed yet
    topics          TEXT NOT NULL,            -- JSON list of confirmed topics
    pending_topics  TEXT NOT NULL,            -- JSON list awaiting confirmation
    state           TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'unsubscribed')),
    requested_at    BIGINT NOT NULL,          -- the last subscription request
    consent_at      BIGINT,                   -- when the subscriber confirmed: the consent
    inactive_since  BIGINT,                   -- NULL while confirmed; retention runs from it
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (org_id, email_norm)
);

CREATE TABLE subprocessor_notices (
    id                TEXT NOT NULL PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES orgs (id),
    subprocessor_id   TEXT NOT NULL,
    change            TEXT NOT NULL CHECK (change IN ('added', 'changed', 'removed')),
    subprocessor_name TEXT NOT NULL,          -- as it was announced
    changes           TEXT NOT NULL,          -- JSON list of {field, from, to}
    announced_at      BIGINT NOT NULL,
    effective_on      TEXT NOT NULL,          -- YYYY-MM-DD in the organisation's time zone
    notice_days       INTEGER NOT NULL,       -- the notice period in force when announced
    short_reason      TEXT NOT NULL,          -- why the notice is shorter than the period; '' otherwise
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, subprocessor_id) REFERENCES subprocessors (org_id, id)
);
CREATE INDEX subprocessor_notices_org ON subprocessor_notices (org_id, announced_at);

CREATE TABLE objections (
    id          TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    notice_id   TEXT NOT NULL,
    email       TEXT NOT NULL,               -- the subscriber's address, so the organisation can answer
    email_norm  TEXT NOT NULL,               -- normalised in Go: erasing a subscriber finds their objections
    reason      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (notice_id, email_norm),
    FOREIGN KEY (org_id, notice_id) REFERENCES subprocessor_notices (org_id, id)
);

-- +goose Down
DROP TABLE objections;
DROP TABLE subprocessor_notices;
DROP TABLE subscribers;
ALTER TABLE mail_messages DROP COLUMN headers;
ALTER TABLE orgs DROP COLUMN subprocessor_notice_days;
