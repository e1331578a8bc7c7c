-- Identity and access: users, memberships, sessions, second factor, resets,
-- invitations, API tokens and rate limits.

-- +goose Up
ALTER TABLE orgs ADD COLUMN require_totp BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE users (
    id                  TEXT NOT NULL PRIMARY KEY,
    email               TEXT NOT NULL,      -- as typed
    email_norm          TEXT NOT NULL,      -- normalised in Go: trimmed, lower case
    name                TEXT NOT NULL,
    password_hash       TEXT NOT NULL,      -- argon2id, PHC format
    totp_secret         TEXT NOT NULL,      -- sealed with the secret key; '' when not enrolled
    totp_enabled_at     BIGINT,
    totp_last_step      BIGINT NOT NULL,    -- last accepted time step: each step is usable once
    password_changed_at BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    deleted_at          BIGINT
);
CREATE UNIQUE INDEX users_email_live ON users (email_norm) WHERE deleted_at IS NULL;

CREATE TABLE memberships (
    org_id     TEXT NOT NULL REFERENCES orgs (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    role       TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'member', 'guest')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE sessions (
    id           TEXT NOT NULL PRIMARY KEY,
    token_hash   TEXT NOT NULL,   -- SHA-256 of the cookie value; the value itself is never stored
    user_id      TEXT NOT NULL REFERENCES users (id),
    mfa_pending  BOOLEAN NOT NULL, -- password accepted, second factor still due
    client_ip    TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,  -- absolute limit
    revoked_at   BIGINT
);
CREATE UNIQUE INDEX sessions_token ON sessions (token_hash);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE recovery_codes (
    id         TEXT NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    code_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

CREATE TABLE password_resets (
    id         TEXT NOT NULL PRIMARY KEY,
    token_hash TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE UNIQUE INDEX password_resets_token ON password_resets (token_hash);

CREATE TABLE invitations (
    id          TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    email       TEXT NOT NULL,
    email_norm  TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'member', 'guest')),
    token_hash  TEXT NOT NULL,
    invited_by  TEXT NOT NULL REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    revoked_at  BIGINT,
    UNIQUE (org_id, id)
);
CREATE UNIQUE INDEX invitations_token ON invitations (token_hash);

CREATE TABLE api_tokens (
    id           TEXT NOT NULL PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id),
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'member', 'guest')),
    prefix       TEXT NOT NULL,   -- shown in lists so a token can be recognised
    token_hash   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);

-- Failed attempts per account or client address, shared by every node.
CREATE TABLE rate_limits (
    key           TEXT NOT NULL PRIMARY KEY,
    failures      INTEGER NOT NULL,
    blocked_until BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE rate_limits;
DROP TABLE api_tokens;
DROP TABLE invitations;
DROP TABLE password_resets;
DROP TABLE recovery_codes;
DROP TABLE sessions;
DROP TABLE memberships;
DROP TABLE users;
ALTER TABLE orgs DROP COLUMN require_totp;
