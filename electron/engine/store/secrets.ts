import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Statement } from 'better-sqlite3';
import { maskKey, SwitchboardError } from '../contract/errors.ts';
import { type Database, statementCache } from './database.ts';

/**
 * Supplies the 32-byte key secrets are encrypted under. It lives outside the database so that a copy of
 * the database alone reveals no API key.
 */
export interface KeyProvider {
  loadKey(): Buffer;
  /** How the key is protected, in words a person can check (shown in settings and `switchboard doctor`). */
  describe?(): string;
}

const KEY_BYTES = 32;

/**
 * The one key store of the desktop app, `switchboard serve` and the CLI: `<dataDir>/secret.key`, 32
 * random bytes written on first use with mode 0600 (owner read/write only), so a key any of them stores
 * every other one can use. Anyone who can read that file and the database as the user can read the
 * secrets; `note` adds what the platform offers beyond that (the desktop app says whether an OS keyring exists).
 */
export function fileKeyProvider(file: string, note?: string): KeyProvider {
  let cached: Buffer | undefined;
  return {
    describe: () =>
      `API keys are encrypted (AES-256-GCM) under a key kept in ${file}, readable only by you (mode 0600); ` +
      `the OS keyring is not used, so anyone who can read your files can read your keys.${note ? ` ${note}` : ''}`,
    loadKey() {
      if (cached) return cached;
      let stored: Buffer;
      try {
        stored = readFileSync(file);
        // Tighten a key file someone loosened (a restore from a backup, a copy with cp).
        if ((statSync(file).mode & 0o077) !== 0 && process.platform !== 'win32') chmodSync(file, 0o600);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        const fresh = randomBytes(KEY_BYTES);
        mkdirSync(dirname(file), { recursive: true });
        // 'wx': if another process created it first, fail and read theirs instead of overwriting it.
        try {
          writeFileSync(file, fresh, { mode: 0o600, flag: 'wx' });
        } catch (raced) {
          if ((raced as NodeJS.ErrnoException).code !== 'EEXIST') throw raced;
        }
        stored = readFileSync(file);
      }
      const key = stored;
      if (key.length !== KEY_BYTES) {
        throw new SwitchboardError(
          'CONFIG_INVALID',
          `the secrets key file ${file} is damaged (expected ${KEY_BYTES} bytes)`,
        );
      }
      cached = key;
      return key;
    },
  };
}

interface SecretRow {
  name: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

/**
 * API keys and other secrets, AES-256-GCM encrypted in the `secrets` table. The secret's name is the
 * additional authenticated data, so a ciphertext moved to another name fails to decrypt. Only masked
 * values (…a9f2) ever leave through listMasked.
 */
export class SecretStore {
  private readonly prepare: (sql: string) => Statement;
  private readonly keys: KeyProvider;

  constructor(db: Database, keys: KeyProvider) {
    this.prepare = statementCache(db);
    this.keys = keys;
  }

  setSecret(name: string, value: string, now = Date.now()): void {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.loadKey(), iv);
    cipher.setAAD(Buffer.from(name, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    this.prepare(
      `INSERT INTO secrets (name, iv, tag, ciphertext, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET iv = excluded.iv, tag = excluded.tag, ciphertext = excluded.ciphertext,
           updated_at = excluded.updated_at`,
    ).run(name, iv, cipher.getAuthTag(), ciphertext, now);
  }

  getSecret(name: string): string | undefined {
    const row = this.prepare('SELECT * FROM secrets WHERE name = ?').get(name) as SecretRow | undefined;
    return row ? this.decrypt(row) : undefined;
  }

  deleteSecret(name: string): boolean {
    return this.prepare('DELETE FROM secrets WHERE name = ?').run(name).changes > 0;
  }

  /** Every secret's name, without decrypting anything. */
  listNames(): string[] {
    return (this.prepare('SELECT name FROM secrets ORDER BY name').all() as { name: string }[]).map((row) => row.name);
  }

  /** Every secret's name with its masked value, for the renderer and the HTTP API. */
  listMasked(): { name: string; masked: string }[] {
    const rows = this.prepare('SELECT * FROM secrets ORDER BY name').all() as SecretRow[];
    return rows.map((row) => ({ name: row.name, masked: maskKey(this.decrypt(row)) }));
  }

  /**
   * Re-encrypts, under this store's key, the secrets another key encrypted (the desktop app's former
   * safeStorage-wrapped key), so they join the one store. Returns how many were taken over.
   */
  adoptSecretsFrom(oldKey: Buffer): number {
    const rows = this.prepare('SELECT * FROM secrets').all() as SecretRow[];
    let adopted = 0;
    for (const row of rows) {
      let value: string;
      try {
        value = this.decrypt(row, oldKey);
      } catch {
        continue;
      }
      this.setSecret(row.name, value);
      adopted++;
    }
    return adopted;
  }

  private decrypt(row: SecretRow, key: Buffer = this.keys.loadKey()): string {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, row.iv);
      decipher.setAAD(Buffer.from(row.name, 'utf8'));
      decipher.setAuthTag(row.tag);
      return Buffer.concat([decipher.update(row.ciphertext), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new SwitchboardError(
        'CONFIG_INVALID',
        `the stored secret "${row.name}" cannot be decrypted: the secrets key changed or the database was copied from another machine; enter the key again`,
        { cause: error },
      );
    }
  }
}
