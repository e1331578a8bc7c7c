-- Outbound webhooks (internal/webhook), following the Standard Webhooks
-- specification: the endpoints an organisation's admins register, each
-- event sent to each endpoint (a message, whose id is the webhook-id
-- header), and the log of every delivery attempt, kept 30 days.

-- +goose Up
CREATE TABLE webhook_endpoints (
    id            TEXT NOT NULL PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs (id),
    url           TEXT NOT NULL,
    description   TEXT NOT NULL,
    topics        TEXT NOT NULL,    -- JSON list of topics (webhook.Topics)
    secret_sealed TEXT NOT NULL,    -- the signing secret, sealed by keys.Seal; '' once deleted
    active        BOOLEAN NOT NULL, -- a paused endpoint receives nothing
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    deleted_at    BIGINT,
    UNIQUE (org_id, id)
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id);

CREATE TABLE webhook_messages (
    id          TEXT NOT NULL PRIMARY KEY, -- msg_…, sent as webhook-id on every attempt
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    endpoint_id TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    payload     TEXT NOT NULL,             -- the JSON body, exactly as signed
    state       TEXT NOT NULL CHECK (state IN ('queued', 'delivered', 'dead')),
    attempts    INTEGER NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, endpoint_id) REFERENCES webhook_endpoints (org_id, id)
);
CREATE INDEX webhook_messages_endpoint ON webhook_messages (org_id, endpoint_id, created_at);
CREATE INDEX webhook_messages_updated ON webhook_messages (updated_at);

-- Attempts go with their message when retention removes it.
CREATE TABLE webhook_attempts (
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    message_id  TEXT NOT NULL,
    attempt     INTEGER NOT NULL, -- 1, 2, … across redeliveries
    at          BIGINT NOT NULL,
    status      INTEGER NOT NULL, -- the receiver's HTTP status; 0 when no answer came
    error       TEXT NOT NULL,    -- why it failed, with a short excerpt of the answer; '' when delivered
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (message_id, attempt),
    FOREIGN KEY (org_id, message_id) REFERENCES webhook_messages (org_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_at ON webhook_attempts (at);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_messages;
DROP TABLE webhook_endpoints;
