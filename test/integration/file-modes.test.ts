import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../electron/engine/store/database.ts';

/**
 * The data dir holds transcripts, chats and keys: 0700, and every file in it 0600 — when Switchboard
 * creates it, and repaired at the next start when it finds a loose one (an older version, a backup, cp).
 */

const CLI = resolve(import.meta.dirname, '../../bin/switchboard.mjs');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function cli(dataDir: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [CLI, '--data-dir', dataDir, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, SWITCHBOARD_CONFIG: '', LOCAL_MODELS_ENABLED: 'false' },
  });
  expect(run.status, run.stderr).toBe(0);
  return run;
}

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** Every path under the data dir whose mode lets group or others in, with its mode. */
function looseEntries(dataDir: string): string[] {
  const loose: string[] = [];
  for (const entry of readdirSync(dataDir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if ((statSync(path).mode & 0o077) !== 0) loose.push(`${relative(dataDir, path)} ${modeOf(path)}`);
  }
  return loose;
}

describe('file modes of the data dir', { timeout: 180_000 }, () => {
  it('creates a fresh data dir 0700 with the database, its WAL and SHM 0600', () => {
    const parent = mkdtempSync(join(tmpdir(), 'switchboard-modes-'));
    dirs.push(parent);
    const dataDir = join(parent, 'data');
    cli(dataDir, 'providers', 'list');
    expect(modeOf(dataDir)).toBe('700');
    expect(modeOf(join(dataDir, 'switchboard.db'))).toBe('600');
    expect(looseEntries(dataDir)).toEqual([]);
    // The WAL and SHM exist while a process has the database open (the last one to close removes them).
    const db = openDatabase(join(dataDir, 'switchboard.db'));
    try {
      db.prepare("INSERT INTO settings (key, value) VALUES ('probe', '1')").run();
      for (const name of ['switchboard.db-wal', 'switchboard.db-shm']) {
        expect(modeOf(join(dataDir, name)), name).toBe('600');
      }
    } finally {
      db.close();
    }
  });

  it('repairs an existing data dir left 0755 with world-readable files, at the next start', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-modes-'));
    dirs.push(dataDir);
    cli(dataDir, 'providers', 'list');
    // What an older version (or `cp -r` under umask 022) leaves behind.
    mkdirSync(join(dataDir, 'audio'));
    writeFileSync(join(dataDir, 'audio', 'old-recording.wav'), 'RIFF');
    writeFileSync(join(dataDir, 'settings.json'), '{}\n');
    for (const entry of readdirSync(dataDir, { withFileTypes: true, recursive: true })) {
      const path = join(entry.parentPath, entry.name);
      chmodSync(path, entry.isDirectory() ? 0o755 : 0o644);
    }
    chmodSync(dataDir, 0o755);
    expect(looseEntries(dataDir).length).toBeGreaterThan(3);

    cli(dataDir, 'providers', 'list');
    expect(modeOf(dataDir)).toBe('700');
    expect(modeOf(join(dataDir, 'audio'))).toBe('700');
    expect(modeOf(join(dataDir, 'switchboard.db'))).toBe('600');
    expect(looseEntries(dataDir)).toEqual([]);
  });
});
