import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import type { apiInputs } from '../contract/api.ts';
import type { Engine } from '../engine.ts';
import type { TranscriptionQueue } from '../meetings/queue.ts';
import type { Store } from '../store/store.ts';

type Input<M extends keyof typeof apiInputs> = z.output<(typeof apiInputs)[M]>;

export interface DataApiDeps {
  store: Pick<Store, 'eraseAll'>;
  queue: Pick<TranscriptionQueue, 'cancelAll'>;
  engine: Pick<Engine, 'source'>;
  /** Folders that hold only the user's data (recordings, uploads): emptied. */
  dataFolders: string[];
}

/**
 * "Delete all my data": stops the transcription jobs, then deletes every meeting and its recording,
 * every chat, the usage history, stored keys and templates (overwritten in the database file, not just
 * unlinked), pending uploads, and the settings changed in the app. Downloaded models, the providers
 * file the user wrote, and the API token stay.
 */
export async function deleteAllData(deps: DataApiDeps): Promise<void> {
  await deps.queue.cancelAll();
  deps.store.eraseAll();
  for (const folder of deps.dataFolders) {
    const names = await readdir(folder).catch(() => [] as string[]);
    await Promise.all(names.map((name) => rm(join(folder, name), { recursive: true, force: true })));
  }
  deps.engine.source.update((overrides) => {
    for (const key of Object.keys(overrides)) delete (overrides as Record<string, unknown>)[key];
  });
}

/** Handler for data.deleteAll (contract/api.ts). */
export function createDataHandlers(deps: DataApiDeps) {
  return {
    'data.deleteAll': async (_input: Input<'data.deleteAll'>): Promise<{ ok: true }> => {
      await deleteAllData(deps);
      return { ok: true };
    },
  };
}
