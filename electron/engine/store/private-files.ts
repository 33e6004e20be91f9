import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The data dir holds transcripts, chats, recordings and keys: only its owner may read it. Directories
 * are 0700 and files 0600, set when they are created and repaired at every start, because a data dir
 * made by an older version, restored from a backup or copied with `cp` may be readable by everyone.
 * Windows has no such modes (its ACLs come from the user's profile folder), so nothing is done there.
 */
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;
const POSIX = process.platform !== 'win32';

function tighten(path: string, mode: number): void {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  // Links are left alone: chmod follows them, and their target may be anywhere (a model folder).
  if (!stat || stat.isSymbolicLink()) return;
  if ((stat.mode & 0o077) !== 0) chmodSync(path, mode);
}

/** Creates a directory (and its parents) only its owner may enter, tightening it when it exists. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  if (POSIX) tighten(dir, PRIVATE_DIR);
}

/** Creates an empty file only its owner may read (when it does not exist), or tightens an existing one. */
export function ensurePrivateFile(file: string): void {
  if (!POSIX) return;
  closeSync(openSync(file, 'a', PRIVATE_FILE));
  tighten(file, PRIVATE_FILE);
}

/** Tightens one file written elsewhere (SQLite's WAL and SHM, a copied recording, an export). */
export function makePrivate(file: string): void {
  if (POSIX) tighten(file, PRIVATE_FILE);
}

/** Tightens every folder and file under the data dir that group or others may read. */
export function repairPrivateTree(dataDir: string): void {
  ensurePrivateDir(dataDir);
  if (!POSIX) return;
  for (const entry of readdirSync(dataDir, { withFileTypes: true, recursive: true })) {
    if (entry.isSymbolicLink()) continue;
    const path = join(entry.parentPath, entry.name);
    if (entry.isDirectory()) tighten(path, PRIVATE_DIR);
    else if (entry.isFile()) tighten(path, PRIVATE_FILE);
  }
}
