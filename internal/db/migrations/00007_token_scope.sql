-- A token's scope narrows what it may do below its role: evidence:push
-- tokens, for CI jobs and scripts, may only push results.

-- +goose Up
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN scope;
