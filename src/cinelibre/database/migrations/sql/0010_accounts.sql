-- Account security. token_version is copied into every access token (the `ver` claim); moving it
-- (a password change, "log out everywhere") makes every token issued before useless at once,
-- on every instance, without a list of revoked tokens. is_admin opens the /admin operations.

ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN is_admin boolean NOT NULL DEFAULT false;
