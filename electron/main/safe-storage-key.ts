import { safeStorage } from 'electron';
import type { KeyWrapper } from '../engine/store/secrets.ts';

/**
 * Protects the store's data key (which encrypts API keys at rest) with the OS keychain through
 * Electron's safeStorage: Keychain on macOS, DPAPI on Windows, libsecret/kwallet on Linux. The store
 * keeps only the wrapped key on disk (store/secrets.ts fileKeyProvider(file, safeStorageKeyWrapper)).
 */
export const safeStorageKeyWrapper: KeyWrapper = {
  wrap(dataKey: Buffer): Buffer {
    return safeStorage.encryptString(dataKey.toString('base64'));
  },
  unwrap(stored: Buffer): Buffer {
    return Buffer.from(safeStorage.decryptString(stored), 'base64');
  },
};

/** False on Linux without a keyring: the key file is then protected by its file mode alone, as in the CLI. */
export function safeStorageAvailable(): boolean {
  return safeStorage.isEncryptionAvailable();
}
