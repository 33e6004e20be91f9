import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadApiToken, loadSessionSecret, writeNewToken } from '../../../electron/engine/server/token.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the API token file', () => {
  it('is created once with owner-only permissions and read back after', () => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-token-'));
    const first = loadApiToken(join(dir, 'data'), {});
    expect(first.source).toBe('file');
    expect(first.token).toMatch(/^sb-[A-Za-z0-9_-]{43}$/);
    expect(statSync(first.file!).mode & 0o777).toBe(0o600);
    expect(loadApiToken(join(dir, 'data'), {}).token).toBe(first.token);
  });

  it('tightens a file whose permissions were widened', () => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-token-'));
    const { file } = writeNewToken(dir);
    chmodSync(file!, 0o644);
    loadApiToken(dir, {});
    expect(statSync(file!).mode & 0o777).toBe(0o600);
  });

  it('yields to SWITCHBOARD_API_TOKEN, and refuses a short one', () => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-token-'));
    expect(loadApiToken(dir, { SWITCHBOARD_API_TOKEN: 'sb-from-env-0123456789' })).toEqual({
      token: 'sb-from-env-0123456789',
      source: 'environment',
    });
    expect(() => loadApiToken(dir!, { SWITCHBOARD_API_TOKEN: 'short' })).toThrow(/too short/);
  });

  it('rotates to a new token', () => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-token-'));
    const before = loadApiToken(dir, {}).token;
    const after = writeNewToken(dir).token;
    expect(after).not.toBe(before);
    expect(readFileSync(join(dir, 'api-token'), 'utf8').trim()).toBe(after);
  });
});

describe('the session signing secret', () => {
  it('is created once, owner-only, and the same after a restart; a widened file is tightened', () => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-token-'));
    const first = loadSessionSecret(dir);
    const file = join(dir, 'session-secret');
    expect(first.length).toBe(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    chmodSync(file, 0o644);
    expect(loadSessionSecret(dir).equals(first)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.toString('hex'));
  });
});
