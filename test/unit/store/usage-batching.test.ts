import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { UsageEvent } from '../../../electron/engine/accounting/types.ts';
import { openDatabase } from '../../../electron/engine/store/database.ts';
import { openStore } from '../../../electron/engine/store/store.ts';
import { UsageRepository } from '../../../electron/engine/store/usage.ts';
import { readElsewhere, rowsSeenElsewhere, tempDirsRemovedAfterEach } from './helpers.ts';

const tempDir = tempDirsRemovedAfterEach();

const event = (id: string, costUsd = 0.01): UsageEvent => ({
  id,
  time: Date.now(),
  kind: 'chat',
  providerId: 'openai',
  model: 'm',
  profile: 'default',
  strategy: 'priority',
  inputTokens: 1,
  outputTokens: 2,
  tokensEstimated: false,
  costUsd,
  latencyMs: 5,
  outcome: 'success',
  fallbackDepth: 0,
});

/** A usage repository on a fresh database file, closed once `use` is done. */
async function withUsage(use: (usage: UsageRepository, file: string) => unknown): Promise<void> {
  const file = join(tempDir(), 'sb.db');
  const db = openDatabase(file);
  try {
    await use(new UsageRepository(db), file);
  } finally {
    db.close();
  }
}

describe('usage events written in batches', () => {
  it('reach the database file at once after a quiet spell, within a quarter second under load, or on flush()', () =>
    withUsage(async (usage, file) => {
      usage.record(event('a')); // a CLI run's only request: on disk before the process exits
      expect(rowsSeenElsewhere(file, 'usage_events')).toBe(1);
      usage.record(event('b'));
      usage.record(event('c'));
      await sleep(400);
      expect(rowsSeenElsewhere(file, 'usage_events')).toBe(3);
      usage.record(event('d'));
      usage.record(event('e'));
      usage.flush();
      expect(rowsSeenElsewhere(file, 'usage_events')).toBe(5);
    }));

  it('never hide a recorded event from this repository’s own queries', () =>
    withUsage(async (usage) => {
      for (let i = 0; i < 450; i++) usage.record(event(`e${i}`, 0.5));
      // 400 written by the size trigger, 50 still waiting: every query counts all of them.
      expect(usage.totals(0).requests).toBe(450);
      usage.record(event('last', 0.5));
      expect(usage.spend('daily')).toBeCloseTo(451 * 0.5);
      usage.record(event('one-more', 0.5));
      expect(usage.byProvider(0)[0]?.requests).toBe(452);
    }));

  it('put reservations made together on disk before their callers go on, and a settled event replaces its reservation', () =>
    withUsage(async (usage, file) => {
      const reserved = (id: string) => ({ ...event(id), outcome: 'interrupted' as const, tokensEstimated: true });
      const written = ['r1', 'r2', 'r3'].map((id) => usage.reserve(reserved(id)));
      await Promise.all(written);
      expect(rowsSeenElsewhere(file, 'usage_events')).toBe(3);
      usage.record(event('r2', 0.25));
      usage.flush();
      expect(readElsewhere(file, 'SELECT id, outcome, cost_usd FROM usage_events ORDER BY id')).toEqual([
        { id: 'r1', outcome: 'interrupted', cost_usd: 0.01 },
        { id: 'r2', outcome: 'success', cost_usd: 0.25 },
        { id: 'r3', outcome: 'interrupted', cost_usd: 0.01 },
      ]);
    }));

  it("let a later attempt's reservation name the provider the request moved to, but never overwrite a settled row", () =>
    withUsage(async (usage, file) => {
      const reserved = (providerId: string, fallbackDepth: number): UsageEvent => ({
        ...event('fell-back'),
        providerId,
        fallbackDepth,
        outcome: 'interrupted',
        tokensEstimated: true,
      });
      const rowOf = () =>
        readElsewhere(file, 'SELECT provider_id, fallback_depth, outcome, cost_usd FROM usage_events');
      await usage.reserve(reserved('first', 0));
      await usage.reserve(reserved('standby', 1));
      expect(rowOf()).toEqual([{ provider_id: 'standby', fallback_depth: 1, outcome: 'interrupted', cost_usd: 0.01 }]);
      usage.record({ ...event('fell-back', 0.25), providerId: 'last', fallbackDepth: 2 });
      usage.flush();
      await usage.reserve(reserved('late', 3));
      expect(rowOf()).toEqual([{ provider_id: 'last', fallback_depth: 2, outcome: 'success', cost_usd: 0.25 }]);
    }));

  it('write a reservation still waiting for its commit before any query reads', () =>
    withUsage(async (usage) => {
      void usage.reserve({ ...event('waiting', 0.5), outcome: 'interrupted' });
      expect(usage.totals(0).requests).toBe(1);
    }));
});

describe('usage events written on a writer thread (as `serve` and the app open the store)', () => {
  const reserved = (id: string): UsageEvent => ({ ...event(id), outcome: 'interrupted', tokensEstimated: true });

  it("commit a busy gateway's rows there, each reservation on disk before its promise resolves, and keep every event in this thread's queries", async () => {
    const file = join(tempDir(), 'sb.db');
    const store = openStore({ file, checkpointOffThread: true });
    // What the main connection wrote itself: none of the usage rows, which go through the repository's own.
    const changesHere = () => (store.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    const before = changesHere();
    try {
      // A request alone in flight commits on this thread (two thread wake-ups would cost it more).
      await store.usage.reserve(reserved('alone'));
      expect(rowsSeenElsewhere(file, 'usage_events')).toBe(1);
      store.usage.record(event('alone'));

      await Promise.all(['r1', 'r2', 'r3'].map((id) => store.usage.reserve(reserved(id))));
      expect(rowsSeenElsewhere(file, 'usage_events')).toBe(4);
      store.usage.record(event('r2', 0.25));
      for (let i = 0; i < 300; i++) store.usage.record(event(`e${i}`));
      expect(store.usage.totals(0).requests).toBe(304);
      expect(readElsewhere(file, "SELECT outcome, cost_usd FROM usage_events WHERE id = 'r2'")).toEqual([
        { outcome: 'success', cost_usd: 0.25 },
      ]);
      expect(changesHere()).toBe(before);
    } finally {
      store.close();
    }
    // The thread's connection closed before the store's, whose close then emptied the WAL as the last one.
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect(rowsSeenElsewhere(file, 'usage_events')).toBe(304);
  });

  it('never hold the event loop while another connection has the database locked: the thread waits for the lock', async () => {
    const file = join(tempDir(), 'sb.db');
    const store = openStore({ file, checkpointOffThread: true });
    // Another process's write, or the checkpoint thread starting the WAL over: the writer's lock held.
    const other = new BetterSqlite3(file);
    try {
      other.exec('BEGIN IMMEDIATE');
      let committed = false;
      const reserving = store.usage.reserve(reserved('locked')).then(() => {
        committed = true;
      });
      // The event loop goes on while the reservation waits: a 50 ms timer fires on time, not after the
      // store's 5-s busy timeout (the commit sleeping in SQLite's busy handler on this thread).
      const timerStarted = performance.now();
      await sleep(50);
      expect(performance.now() - timerStarted).toBeLessThan(1000);
      expect(committed).toBe(false);
      other.exec('COMMIT');
      await reserving;
      expect(rowsSeenElsewhere(file, 'usage_events')).toBe(1);
      // The rows after it keep their order: the settled event replaces the reservation.
      store.usage.record(event('locked', 0.5));
      expect(store.usage.totals(0)).toMatchObject({ requests: 1, costUsd: 0.5 });
    } finally {
      other.close();
      store.close();
    }
    expect(readElsewhere(file, 'SELECT outcome FROM usage_events')).toEqual([{ outcome: 'success' }]);
  });

  it('go to the writer thread while two requests are in flight, which writes them without falling back', async () => {
    const dir = tempDir();
    const file = join(dir, 'sb.db');
    const problems: string[] = [];
    const db = openDatabase(file);
    const usage = new UsageRepository(db, { writerThread: { file, onProblem: (message) => problems.push(message) } });
    try {
      await Promise.all([usage.reserve(reserved('t1')), usage.reserve(reserved('t2'))]);
      expect(rowsSeenElsewhere(file, 'usage_events')).toBe(2);
      await sleep(100);
      expect(problems).toEqual([]);
    } finally {
      usage.close();
      db.close();
    }
  });

  it('fall back to this thread, with one line saying so, when the writer thread cannot open the file', async () => {
    const dir = tempDir();
    const file = join(dir, 'sb.db');
    const problems: string[] = [];
    const db = openDatabase(file);
    const usage = new UsageRepository(db, {
      writerThread: { file: join(dir, 'missing.db'), onProblem: (message) => problems.push(message) },
    });
    try {
      // Two requests in flight: their rows go to the thread, which fails, and are written here.
      await Promise.all([usage.reserve(reserved('r1')), usage.reserve(reserved('r2'))]);
      expect(rowsSeenElsewhere(file, 'usage_events')).toBe(2);
      usage.record(event('r1', 0.25));
      usage.flush();
      expect(readElsewhere(file, 'SELECT id, outcome FROM usage_events ORDER BY id')).toEqual([
        { id: 'r1', outcome: 'success' },
        { id: 'r2', outcome: 'interrupted' },
      ]);
      await sleep(100); // the thread's exit comes after its error: still one line
      expect(problems).toEqual([expect.stringMatching(/usage rows are written on the event loop again/)]);
    } finally {
      usage.close();
      db.close();
    }
  });
});
