import { constants } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { TFTP_ERROR } from './packet.js';

/** Longest request path accepted (bytes); longer names are refused as an access violation. */
export const MAX_PATH_LENGTH = 255;

/** A request path refused, with the TFTP error to answer. */
export interface PathRefusal {
  ok: false;
  code: (typeof TFTP_ERROR)['ACCESS_VIOLATION' | 'FILE_NOT_FOUND'];
  message: string;
}

/** Result of normalizing a request path. */
export type NormalizedPath = { ok: true; path: string } | PathRefusal;

function refuse(code: PathRefusal['code'], message: string): PathRefusal {
  return { ok: false, code, message };
}

/**
 * Maps a TFTP filename to a root-relative path (pure). Backslashes (Windows Deployment Services
 * and some UEFI clients send `\boot\x64\wdsnbp.com`) become slashes; a leading slash means the
 * root, as PXELINUX prefixes paths with the directory of its own boot file; `.` and empty
 * components are dropped. Refused: `..`, drive letters, control and non-ASCII characters (a NUL
 * cannot reach here: it ends the field on the wire) and names over MAX_PATH_LENGTH.
 */
export function normalizeTftpPath(raw: string): NormalizedPath {
  if (raw.length > MAX_PATH_LENGTH) {
    return refuse(TFTP_ERROR.ACCESS_VIOLATION, `filename longer than ${MAX_PATH_LENGTH} bytes`);
  }
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return refuse(TFTP_ERROR.ACCESS_VIOLATION, 'filename has a control or non-ASCII character');
  }
  const slashed = raw.replaceAll('\\', '/');
  if (/^[A-Za-z]:/.test(slashed)) return refuse(TFTP_ERROR.ACCESS_VIOLATION, 'drive letters are not allowed');
  const parts: string[] = [];
  for (const part of slashed.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return refuse(TFTP_ERROR.ACCESS_VIOLATION, "'..' is not allowed");
    parts.push(part);
  }
  if (parts.length === 0) return refuse(TFTP_ERROR.FILE_NOT_FOUND, 'no filename');
  return { ok: true, path: parts.join('/') };
}

/** A file opened under the TFTP root. */
export interface OpenedFile {
  ok: true;
  handle: FileHandle;
  size: number;
}

/**
 * Opens a normalized path under `realRoot` (already realpath'd). Symlinks are followed only
 * while they stay inside the root; anything else is refused. Only regular files are served.
 */
export async function openInRoot(realRoot: string, relPath: string): Promise<OpenedFile | PathRefusal> {
  let real: string;
  try {
    real = await realpath(join(realRoot, relPath));
  } catch {
    return refuse(TFTP_ERROR.FILE_NOT_FOUND, 'file not found');
  }
  if (!real.startsWith(realRoot + sep)) return refuse(TFTP_ERROR.ACCESS_VIOLATION, 'path leaves the TFTP root');
  let handle: FileHandle;
  try {
    // O_NOFOLLOW: `real` has no symlink left; one swapped in since realpath() is refused.
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'ELOOP'
      ? refuse(TFTP_ERROR.ACCESS_VIOLATION, 'permission denied')
      : refuse(TFTP_ERROR.FILE_NOT_FOUND, 'file not found');
  }
  const st = await handle.stat().catch(() => undefined);
  if (!st?.isFile()) {
    await handle.close().catch(() => {});
    return refuse(TFTP_ERROR.FILE_NOT_FOUND, 'not a regular file');
  }
  return { ok: true, handle, size: st.size };
}
