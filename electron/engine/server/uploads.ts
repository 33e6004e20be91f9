import { basename, join } from 'node:path';
import { SwitchboardError } from '../contract/errors.ts';

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
