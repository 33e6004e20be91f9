import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { safeStorage } from 'electron';
import type { Store } from '../engine/store/store.ts';

/**
 * The desktop app shares the one key store with `switchboard serve` and the CLI (`secret.key`, mode
 * 0600), so a key stored by either is usable by the other. Electron's safeStorage is not used for it: a
 * key only the desktop app could unwrap would hide the app's keys from the CLI, and on Linux without a
 * keyring safeStorage encrypts with a fixed password (its `basic_text` backend), which protects nothing.
 */

/** What this system's OS keyring offers, for the key-protection note in settings. */
export function keyringNote(): string {
  if (process.platform !== 'linux') return '';
  const backend = safeStorage.getSelectedStorageBackend();
  return backend === 'basic_text' || backend === 'unknown'
    ? 'This system has no OS keyring (Electron reports no secret service), so the key file is the protection.'
    : '';
}

/** The key file of earlier desktop versions: the data key wrapped by safeStorage. */
const LEGACY_FILE = 'secret.key.safestorage';

/**
 * Moves the keys an earlier desktop version encrypted under its own safeStorage-wrapped key into the one
 * store, then removes that key file. Keys it cannot unwrap (another user, a reset keyring) stay behind,
 * unreadable, and are ignored as before.
 */
export function adoptLegacyDesktopKeys(store: Store, dataDir: string): void {
  const file = join(dataDir, LEGACY_FILE);
  if (!existsSync(file) || !safeStorage.isEncryptionAvailable()) return;
  const oldKey = Buffer.from(safeStorage.decryptString(readFileSync(file)), 'base64');
  store.secrets.adoptSecretsFrom(oldKey);
  rmSync(file, { force: true });
}
