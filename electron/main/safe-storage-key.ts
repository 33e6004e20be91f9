import { safeStorage } from 'electron';

/**
 * Protects the store's data key (which encrypts API keys at rest) with the OS keychain through
 * Electron's safeStorage: Keychain on macOS, DPAPI on Windows, libsecret/kwallet on Linux.
 * The store keeps only the wrapped key on disk.
 */
export const safeStorageKeyProvider = {
  name: 'electron-safe-storage',
  /** False on Linux without a keyring; the store then says secrets are only obfuscated. */
  available(): boolean {
    return safeStorage.isEncryptionAvailable();
  },
  encrypt(dataKey: Buffer): Buffer {
    return safeStorage.encryptString(dataKey.toString('base64'));
  },
  decrypt(wrapped: Buffer): Buffer {
    return Buffer.from(safeStorage.decryptString(wrapped), 'base64');
  },
};
