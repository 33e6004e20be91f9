import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { UsageEvent } from '../../../electron/engine/accounting/types.ts';
import { openDatabase } from '../../../electron/engine/store/database.ts';
import { UsageRepository } from '../../../electron/engine/store/usage.ts';
import { tempDirsRemovedAfterEach } from './helpers.ts';

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

/** Another connection on the same file: what the CLI or a second app process would see. */
function rowsSeenElsewhere(file: string): number {
  const other = openDatabase(file);
  try {
    return (other.prepare('SELECT count(*) AS n FROM usage_events').get() as { n: number }).n;
  } finally {
    other.close();
  }
}

describe('usage events written in batches', () => {
  it('reach the database file at once after a quiet spell, within a quarter second under load, or on flush()', async () => {
    const file = join(tempDir(), 'sb.db');
    const db = openDatabase(file);
    const usage = new UsageRepository(db);
    try {
      usage.record(event('a')); // a CLI run's only request: on disk before the process exits
      expect(rowsSeenElsewhere(file)).toBe(1);
      usage.record(event('b'));
      usage.record(event('c'));
      await sleep(400);
      expect(rowsSeenElsewhere(file)).toBe(3);
      usage.record(event('d'));
      usage.record(event('e'));
      usage.flush();
      expect(rowsSeenElsewhere(file)).toBe(5);
    } finally {
      db.close();
    }
  });

  it('never hide a recorded event from this repository’s own queries', () => {
    const db = openDatabase(join(tempDir(), 'sb.db'));
    const usage = new UsageRepository(db);
    try {
      for (let i = 0; i < 450; i++) usage.record(event(`e${i}`, 0.5));
      // 400 written by the size trigger, 50 still waiting: every query counts all of them.
      expect(usage.totals(0).requests).toBe(450);
      usage.record(event('last', 0.5));
      expect(usage.spend('daily')).toBeCloseTo(451 * 0.5);
      usage.record(event('one-more', 0.5));
      expect(usage.byProvider(0)[0]?.requests).toBe(452);
    } finally {
      db.close();
    }
  });
});
