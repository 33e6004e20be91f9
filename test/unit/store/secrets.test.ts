import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileKeyProvider } from '../../../electron/engine/store/secrets.ts';
import { openStore } from '../../../electron/engine/store/store.ts';
import { tempDirsRemovedAfterEach } from './helpers.ts';

const tempDir = tempDirsRemovedAfterEach();
const API_KEY = 'sk-live-7f3c9a1b2d4e6f8091a2b3c4d5e6f7a8b9c0a9f2';

describe('secrets', () => {
  it('keeps API keys out of the database file and its WAL, and gives them back with the key file', () => {
    const dir = tempDir();
    const file = join(dir, 'switchboard.db');
    const store = openStore({ file });
    store.secrets.setSecret('provider:openai:0', API_KEY);
    // Read the bytes while the WAL still holds the write (no checkpoint yet), then after closing.
    const haystacks = [readFileSync(file), readFileSync(`${file}-wal`)];
    expect(store.secrets.getSecret('provider:openai:0')).toBe(API_KEY);
    expect(store.secrets.listMasked()).toEqual([{ name: 'provider:openai:0', masked: '…a9f2' }]);
    store.close();
    haystacks.push(readFileSync(file));
    for (const bytes of haystacks) {
      expect(bytes.includes(Buffer.from(API_KEY))).toBe(false);
      expect(bytes.includes(Buffer.from(API_KEY.slice(0, 20)))).toBe(false);
    }
    // The headless key lives beside the database, readable by its owner only.
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    const reopened = openStore({ file });
    expect(reopened.secrets.getSecret('provider:openai:0')).toBe(API_KEY);
    reopened.close();
  });

  it('says what to do when the key file no longer matches, without showing the secret', () => {
    const dir = tempDir();
    const file = join(dir, 'switchboard.db');
    const store = openStore({ file });
    store.secrets.setSecret('provider:groq:0', API_KEY);
    store.close();
    writeFileSync(join(dir, 'secret.key'), Buffer.alloc(32, 1));
    const moved = openStore({ file });
    expect(() => moved.secrets.getSecret('provider:groq:0')).toThrow(/cannot be decrypted.*enter the key again/);
    try {
      moved.secrets.getSecret('provider:groq:0');
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(API_KEY);
    }
    moved.close();
  });

  it('deletes secrets and reports whether there was one', () => {
    const store = openStore({ file: join(tempDir(), 'sb.db') });
    store.secrets.setSecret('a', API_KEY);
    store.secrets.setSecret('a', `${API_KEY}-rotated-1234`);
    expect(store.secrets.listMasked()).toEqual([{ name: 'a', masked: '…1234' }]);
    expect(store.secrets.deleteSecret('a')).toBe(true);
    expect(store.secrets.deleteSecret('a')).toBe(false);
    expect(store.secrets.getSecret('a')).toBeUndefined();
    store.close();
  });

  it('takes over secrets another key encrypted (the desktop app’s former key), leaving its own alone', () => {
    const dir = tempDir();
    const oldStore = openStore({ file: join(dir, 'db.sqlite'), keyProvider: fileKeyProvider(join(dir, 'old.key')) });
    oldStore.secrets.setSecret('provider-key:openai:1', 'sk-from-the-desktop-1234');
    oldStore.close();
    const store = openStore({ file: join(dir, 'db.sqlite'), keyProvider: fileKeyProvider(join(dir, 'secret.key')) });
    store.secrets.setSecret('provider-key:groq:1', 'gsk-from-the-cli-5678');
    expect(() => store.secrets.getSecret('provider-key:openai:1')).toThrow(/cannot be decrypted/);
    expect(store.secrets.adoptSecretsFrom(readFileSync(join(dir, 'old.key')))).toBe(1);
    expect(store.secrets.getSecret('provider-key:openai:1')).toBe('sk-from-the-desktop-1234');
    expect(store.secrets.getSecret('provider-key:groq:1')).toBe('gsk-from-the-cli-5678');
    store.close();
  });

  it('says how the keys are protected, plainly', () => {
    const keyFile = join(tempDir(), 'secret.key');
    expect(fileKeyProvider(keyFile).describe?.()).toMatch(/0600.*OS keyring is not used/);
    expect(fileKeyProvider(keyFile, 'This system has no OS keyring.').describe?.()).toMatch(/no OS keyring\.$/);
  });
});
