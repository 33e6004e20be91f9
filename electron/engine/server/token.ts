import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TOKEN_FILE_NAME = 'api-token';
export const SESSION_SECRET_FILE_NAME = 'session-secret';

export interface ApiToken {
  token: string;
  /** Where it came from: SWITCHBOARD_API_TOKEN, or the file in the data dir. */
  source: 'environment' | 'file';
  file?: string;
}

export function generateToken(): string {
  return `sb-${randomBytes(32).toString('base64url')}`;
}

/** A credential file's text when it exists and `valid` accepts it; its mode is narrowed to the owner again. */
function readCredentialFile(file: string, valid: (text: string) => boolean): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    if (!valid(text)) return undefined;
    // A copy or restore may have widened it; it is as good as a password.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return undefined;
  }
}

function writeCredentialFile(dataDir: string, name: string, text: string): string {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, name);
  writeFileSync(file, `${text}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/**
 * The local API's token: SWITCHBOARD_API_TOKEN when set, else the one kept in the data dir
 * (created on first use, readable by the owner only).
 */
export function loadApiToken(dataDir: string, env: NodeJS.ProcessEnv = process.env): ApiToken {
  const fromEnv = env.SWITCHBOARD_API_TOKEN?.trim();
  if (fromEnv) {
    if (fromEnv.length < 16) throw new Error('SWITCHBOARD_API_TOKEN is too short: use at least 16 random characters');
    return { token: fromEnv, source: 'environment' };
  }
  const file = join(dataDir, TOKEN_FILE_NAME);
  const token = readCredentialFile(file, (text) => text.length >= 16);
  return token ? { token, source: 'file', file } : writeNewToken(dataDir);
}

/** Replaces the token in the data dir (`switchboard token --rotate`); clients must use the new one. */
export function writeNewToken(dataDir: string): ApiToken {
  const token = generateToken();
  return { token, source: 'file', file: writeCredentialFile(dataDir, TOKEN_FILE_NAME, token) };
}

/**
 * The secret that signs browser sessions, kept in the data dir (owner only) so a signed-in browser stays
 * signed in when the server restarts. Created on first use.
 */
export function loadSessionSecret(dataDir: string): Buffer {
  const stored = readCredentialFile(join(dataDir, SESSION_SECRET_FILE_NAME), (text) => /^[0-9a-f]{64,}$/.test(text));
  if (stored) return Buffer.from(stored, 'hex');
  const secret = randomBytes(32);
  writeCredentialFile(dataDir, SESSION_SECRET_FILE_NAME, secret.toString('hex'));
  return secret;
}
