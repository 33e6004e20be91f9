import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../electron/engine/config/load.ts';
import type { EngineConfig } from '../../../electron/engine/config/types.ts';
import { resolveUpload } from '../../../electron/engine/server/uploads.ts';
import { createUploadSaver } from '../../../electron/main/uploads.ts';

const MB = 1024 * 1024;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-ipc-uploads-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The engine's configuration as providers.yaml with this `server:` section loads it. */
function configWith(server: string): EngineConfig {
  const file = join(dir, 'providers.yaml');
  writeFileSync(file, `server:\n${server}\n`);
  return loadConfig({ file, env: {} });
}

describe("the desktop app's audio uploads (IPC)", () => {
  it('take the size server.max_upload_mb sets, as the HTTP upload route does, and follow a change to it', async () => {
    let config = configWith('  max_upload_mb: 1');
    const save = createUploadSaver(join(dir, 'uploads'), () => config.bodyLimits.uploadBytes);
    const audio = new Uint8Array(1.5 * MB).fill(7);

    await expect(save(audio, 'talk.wav')).rejects.toMatchObject({
      code: 'AUDIO_INVALID',
      detail:
        '"talk.wav" is larger than 1 MB, the most the app accepts: split or compress the recording (16 kHz mono Opus or MP3 is plenty for speech), or raise server.max_upload_mb in providers.yaml',
    });

    // The setting raised (a reload): the same file is taken, stored where the app API finds it.
    config = configWith('  max_upload_mb: 2');
    const { uploadId } = await save(audio, 'talk.wav');
    const path = resolveUpload(join(dir, 'uploads'), uploadId);
    expect(existsSync(path)).toBe(true);
    expect(readFileSync(path).length).toBe(audio.length);
  });
});
