import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const SHARED_DIR = resolve(REPO_ROOT, '..', 'shared');
export const SHARED_MODELS_DIR = join(SHARED_DIR, 'models');

/** Published in ../shared/README.md. */
export const STORIES_260K_SHA256 = '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d';

/** A file of the shared test data; fails loudly (never skips) when it is missing. */
export function sharedFile(...parts: string[]): string {
  const path = join(SHARED_DIR, ...parts);
  if (!existsSync(path)) {
    throw new Error(`shared test data missing: ${path} (expected the checkout's ../shared folder, see its README.md)`);
  }
  return path;
}

export const storiesGguf = () => sharedFile('models', 'gguf', 'stories260K.gguf');
export const tinyRandomGguf = () => sharedFile('models', 'gguf', 'llama-2-tiny-random.gguf');
