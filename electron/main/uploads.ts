import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { SwitchboardError } from '../engine/contract/errors.ts';
import { tooLargeMessage } from '../engine/server/http.ts';
import { AUDIO_EXTENSIONS } from '../engine/server/multipart.ts';
import { uploadIdOf } from '../engine/server/uploads.ts';

/**
 * Saves an audio file the renderer sent over IPC exactly as the HTTP upload route does (same folder
 * layout, names, limits), so the app API's handlers resolve either kind of uploadId the same way.
 * `uploadLimit` is the engine's server.max_upload_mb as configured now (a reload changes it).
 */
export function createUploadSaver(uploadsDir: string, uploadLimit: () => number) {
  return async (bytes: Uint8Array, filename: string): Promise<{ uploadId: string }> => {
    const extension = extname(filename).toLowerCase();
    if (!AUDIO_EXTENSIONS.has(extension)) {
      throw new SwitchboardError(
        'AUDIO_INVALID',
        `"${filename}" is not audio: choose a wav, mp3, m4a, ogg, webm or flac file`,
      );
    }
    const limit = uploadLimit();
    if (bytes.byteLength > limit) {
      throw new SwitchboardError('AUDIO_INVALID', tooLargeMessage(`"${filename}"`, 'the app', limit, 'upload'));
    }
    await mkdir(uploadsDir, { recursive: true, mode: 0o700 });
    const path = join(uploadsDir, `switchboard-upload-${randomUUID()}${extension}`);
    await writeFile(path, bytes, { mode: 0o600 });
    return { uploadId: uploadIdOf(path) };
  };
}
