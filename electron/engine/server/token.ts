import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TOKEN_FILE_NAME = 'api-token';

export interface ApiToken {
  token: string;
  /** Where it came from: SWITCHBOARD_API_TOKEN, or the file in the data dir. */
  source: 'environment' | 'file';
  file?: string;
}

export function generateToken(): string {
  return `sb-${randomBytes(32).toString('base64url')}`;
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
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) {
      // A copy or restore may have widened it; the token is as good as a password.
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
      return { token, source: 'file', file };
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return writeNewToken(dataDir);
}

/** Replaces the token in the data dir (`switchboard token --rotate`); clients must use the new one. */
export function writeNewToken(dataDir: string): ApiToken {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, TOKEN_FILE_NAME);
  const token = generateToken();
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, source: 'file', file };
}
