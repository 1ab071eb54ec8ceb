-- A counter per user that moves whenever their ratings or interactions change. Cached
-- personalized lists are keyed by it, so every API instance, with or without a shared cache,
-- stops serving a list the moment the user's own activity makes it stale.

ALTER TABLE users ADD COLUMN activity_version bigint NOT NULL DEFAULT 0;

-- Statement-level, so a bulk import touches each user once rather than once per row.
CREATE FUNCTION bump_activity_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET activity_version = activity_version + 1
    WHERE id IN (SELECT DISTINCT user_id FROM changed_rows);
    RETURN NULL;
END
$$;

-- PostgreSQL allows a transition table only on single-event triggers, hence one per event.
CREATE TRIGGER ratings_inserted_bump_activity AFTER INSERT ON ratings
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_activity_version();
CREATE TRIGGER ratings_updated_bump_activity AFTER UPDATE ON ratings
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_activity_version();
CREATE TRIGGER ratings_deleted_bump_activity AFTER DELETE ON ratings
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_activity_version();
CREATE TRIGGER interactions_inserted_bump_activity AFTER INSERT ON interactions
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_activity_version();
CREATE TRIGGER interactions_deleted_bump_activity AFTER DELETE ON interactions
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_activity_version();
