/**
 * Migration 009: secrets sealed at rest (issue #14). Talos cluster secrets of a profile move to
 * `profiles.secrets`, the IPMI Kg of a BMC to `bmcs.option_secrets`, both sealed with the
 * inventory key; the spec and options columns keep the shape with `<sealed>` in their place.
 * Config bodies are sealed in place (`sealed = 1`); `secrets` lists, sealed, the secret strings
 * a version was rendered with so they can be redacted for readers who may not see them.
 *
 * SQL cannot encrypt: the clear values of an older database are sealed right after the
 * migrations by sealClearSecrets() (src/inventory/seal-clear.ts), found through the
 * `config_versions_clear` index and the `<sealed>` markers. The immutability trigger now lets a
 * version change exactly once, from clear to sealed, with every other column unchanged.
 */
export const sql = `
ALTER TABLE profiles ADD COLUMN secrets BLOB;
ALTER TABLE bmcs ADD COLUMN option_secrets BLOB;
ALTER TABLE config_versions ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE config_versions ADD COLUMN secrets BLOB;
CREATE INDEX config_versions_clear ON config_versions(id) WHERE sealed = 0;
DROP TRIGGER config_versions_immutable;
CREATE TRIGGER config_versions_immutable BEFORE UPDATE ON config_versions
WHEN NOT (OLD.sealed = 0 AND NEW.sealed = 1 AND NEW.id = OLD.id AND NEW.machine_id = OLD.machine_id
  AND NEW.machine_name = OLD.machine_name AND NEW.profile = OLD.profile AND NEW.profile_revision = OLD.profile_revision
  AND NEW.format = OLD.format AND NEW.content_type = OLD.content_type AND NEW.sha256 = OLD.sha256
  AND NEW.meta = OLD.meta AND NEW.created_at = OLD.created_at)
BEGIN
  SELECT RAISE(ABORT, 'config versions are immutable');
END;
`;

/** PostgreSQL: the same columns; the trigger keeps its function and gets the same WHEN condition. */
export const pg = `
ALTER TABLE profiles ADD COLUMN secrets BYTEA;
ALTER TABLE bmcs ADD COLUMN option_secrets BYTEA;
ALTER TABLE config_versions ADD COLUMN sealed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE config_versions ADD COLUMN secrets BYTEA;
CREATE INDEX config_versions_clear ON config_versions(id) WHERE sealed = 0;
DROP TRIGGER config_versions_immutable ON config_versions;
CREATE TRIGGER config_versions_immutable BEFORE UPDATE ON config_versions FOR EACH ROW
WHEN (NOT (OLD.sealed = 0 AND NEW.sealed = 1 AND NEW.id = OLD.id AND NEW.machine_id = OLD.machine_id
  AND NEW.machine_name = OLD.machine_name AND NEW.profile = OLD.profile AND NEW.profile_revision = OLD.profile_revision
  AND NEW.format = OLD.format AND NEW.content_type = OLD.content_type AND NEW.sha256 = OLD.sha256
  AND NEW.meta = OLD.meta AND NEW.created_at = OLD.created_at))
EXECUTE FUNCTION config_versions_immutable();
`;
