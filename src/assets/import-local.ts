import { constants } from 'node:fs';
import { type FileHandle, open, readlink, realpath } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { AppError } from '../errors.js';
import { checkImportPath, checkRequestedPath } from './import-policy.js';

/** An opened import source: its bytes and, when known up front, its length. */
export interface ImportStream {
  stream: Readable;
  size?: number;
}

/** The directories, resolved; one that does not exist (yet) simply allows nothing. */
async function realDirs(dirs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    try {
      out.push(await realpath(d));
    } catch {
      // A missing import dir is an operator's business; it must not make the others fail.
    }
  }
  return out;
}

/**
 * Opens a local file for import when it is a regular file inside one of `importDirs`
 * (after following symlinks) and outside `denyDirs`. Every refusal is the same FORBIDDEN
 * message, so a caller learns nothing about files outside the import directories — not even
 * whether they exist.
 */
export async function openLocalImport(path: string, importDirs: readonly string[], denyDirs: readonly string[]): Promise<ImportStream> {
  if (importDirs.length === 0) {
    throw new AppError('FORBIDDEN', 'local import is off: list the directories it may read in assets.importDirs', {
      details: [{ path: 'path', message: 'local import is off' }],
    });
  }
  const refused = () =>
    new AppError('FORBIDDEN', `${JSON.stringify(path)} is not a readable regular file inside assets.importDirs`, {
      details: [{ path: 'path', message: 'not a regular file inside assets.importDirs' }],
    });
  if (!checkRequestedPath(path).ok) throw refused();
  const [dirs, deny] = await Promise.all([realDirs(importDirs), realDirs(denyDirs)]);
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw refused();
  }
  if (!checkImportPath(real, dirs, deny).ok) throw refused();
  let fh: FileHandle;
  try {
    // O_NOFOLLOW: the last component cannot have become a symlink since realpath; O_NONBLOCK: a FIFO cannot hang us.
    fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    throw refused();
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw refused();
    // A directory on the way may have been swapped for a symlink between realpath and open:
    // judge the file that is actually open (Linux names it in /proc/self/fd).
    const opened = await readlink(`/proc/self/fd/${fh.fd}`).catch(() => real);
    if (!checkImportPath(opened, dirs, deny).ok) throw refused();
    return { stream: fh.createReadStream(), size: st.size };
  } catch (e) {
    await fh.close();
    throw e;
  }
}
