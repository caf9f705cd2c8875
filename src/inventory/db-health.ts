import type Database from 'better-sqlite3';
import { AppError } from '../errors.js';

/**
 * Refuses a database that rackboot must not run on: one that fails PRAGMA quick_check
 * (damaged pages, not a database at all) or whose schema (user_version) is newer than the
 * last migration this binary knows, which a downgrade would otherwise write to blindly.
 */
export function checkDbHealth(db: Database.Database, path: string, maxVersion: number): void {
  let problems: string[];
  try {
    const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
    // Rows read like "*** in database main ***\nTree 4 page 4: btreeInitPage() returns error code 11".
    problems = rows
      .map((r) => r.quick_check)
      .filter((r) => r !== 'ok')
      .map((r) => r.replace(/\*\*\* in database \w+ \*\*\*\n?/g, '').replaceAll('\n', ', '));
  } catch (e) {
    throw damaged(path, (e as Error).message, e);
  }
  if (problems.length > 0) {
    const more = problems.length > 3 ? ` (+${problems.length - 3} more)` : '';
    throw damaged(path, `${problems.slice(0, 3).join('; ')}${more}`);
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > maxVersion) {
    throw new AppError(
      'DATABASE',
      `${path}: database schema ${version} is newer than this rackboot (max ${maxVersion}); upgrade rackboot or restore a backup`,
      { details: { path, version, maxVersion } },
    );
  }
}

function damaged(path: string, problem: string, cause?: unknown): AppError {
  return new AppError(
    'DATABASE',
    `${path} is damaged (quick_check: ${problem}). rackboot will not run on it: stop rackboot, move ${path} and its -wal/-shm files aside, ` +
      'restore your latest backup to that path and start again (README, "Backup")',
    { details: { path, problem }, ...(cause === undefined ? {} : { cause }) },
  );
}
