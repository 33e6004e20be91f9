import { readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SwitchboardError } from '../contract/errors.ts';
import { processIsAlive } from '../process-alive.ts';
import { ensurePrivateDir } from '../store/private-files.ts';

/** Files the upload route writes are named `switchboard-upload-<uuid>.<ext>`; the uploadId is that name. */
const UPLOAD_ID = /^switchboard-upload-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\.[a-z0-9]{1,8})?$/;

export function uploadIdOf(path: string): string {
  return basename(path);
}

/**
 * The file an uploadId names, for the app API's handlers (meetings.transcribe). Anything that is not
 * an id this server made (a path, `..`, another name) is refused, so an id cannot reach other files.
 */
export function resolveUpload(uploadsDir: string, uploadId: string): string {
  if (!UPLOAD_ID.test(uploadId)) {
    throw new SwitchboardError('INVALID_REQUEST', `"${uploadId}" is not an upload id: upload the file first`, {
      retryable: false,
    });
  }
  return join(uploadsDir, uploadId);
}

/** How long an upload or recording waits for a meeting to take it before it is deleted. */
export const UPLOAD_TTL_MS = 60 * 60_000;

/**
 * Deletes uploads no meeting took within the TTL (a recording whose transcription was never started, an
 * upload whose job failed to queue): a recording is kept by its meeting or not at all.
 */
export function expireUploads(uploadsDir: string, now = Date.now()): void {
  let entries: string[];
  try {
    entries = readdirSync(uploadsDir);
  } catch {
    return;
  }
  for (const name of entries) {
    if (!UPLOAD_ID.test(name)) continue;
    const file = join(uploadsDir, name);
    const stat = statSync(file, { throwIfNoEntry: false });
    if (stat?.isFile() && now - stat.mtimeMs > UPLOAD_TTL_MS) rmSync(file, { force: true });
  }
}

/**
 * Removes a scratch folder a process left behind. Processes that start together on one data dir (CLI
 * commands run side by side) sweep the same folders: when another one took part of it first, the
 * recursive removal meets a folder that is gone (ENOENT), which is what was wanted.
 */
function sweep(folder: string): void {
  try {
    rmSync(folder, { recursive: true, force: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * This process's scratch folder for audio that only passes through (`/v1/audio/transcriptions`
 * uploads): `<dataDir>/tmp/<pid>`, private like the rest of the data dir. Folders of processes that are
 * gone — killed mid-request — are swept first, so no upload outlives a crash past the next start.
 */
export function processScratchDir(dataDir: string): { dir: string; remove(): void } {
  const root = join(dataDir, 'tmp');
  ensurePrivateDir(root);
  for (const name of readdirSync(root)) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0 || (pid !== process.pid && !processIsAlive(pid))) {
      sweep(join(root, name));
    }
  }
  const dir = join(root, String(process.pid));
  ensurePrivateDir(dir);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
