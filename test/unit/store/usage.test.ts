import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { budgetPeriodOf } from '../../../electron/engine/accounting/budget.ts';
import type { UsageEvent } from '../../../electron/engine/accounting/types.ts';
import { openStore } from '../../../electron/engine/store/store.ts';
import { tempDirsRemovedAfterEach } from './helpers.ts';

const tempDir = tempDirsRemovedAfterEach();
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);

function event(
  id: string,
  time: number,
  providerId: string,
  costUsd: number,
  outcome: UsageEvent['outcome'] = 'success',
): UsageEvent {
  return {
    id,
    time,
    kind: 'chat',
    providerId,
    model: 'm',
    profile: 'default',
    strategy: 'priority',
    inputTokens: 10,
    outputTokens: 20,
    tokensEstimated: false,
    costUsd,
    latencyMs: 100,
    outcome,
    fallbackDepth: 0,
    ...(outcome === 'error' ? { errorCode: 'RATE_LIMITED' as const } : {}),
  };
}

describe('usage events', () => {
  it('records events and answers the usage pane: series by hour and provider, totals, shares, spend', () => {
    const store = openStore({ file: join(tempDir(), 'sb.db') });
    store.usage.record(event('a', T0 + 10, 'openai', 0.5));
    store.usage.record(event('b', T0 + 20, 'openai', 0.25, 'error'));
    store.usage.record(event('c', T0 + HOUR + 5, 'groq', 0.125));
    store.usage.record(event('c', T0 + HOUR + 5, 'groq', 0.125)); // the same event twice is counted once

    expect(store.usage.series(T0, 'hour')).toEqual([
      {
        time: T0,
        providerId: 'openai',
        requests: 2,
        errors: 1,
        costUsd: 0.75,
        inputTokens: 20,
        outputTokens: 40,
        avgLatencyMs: 100,
      },
      {
        time: T0 + HOUR,
        providerId: 'groq',
        requests: 1,
        errors: 0,
        costUsd: 0.125,
        inputTokens: 10,
        outputTokens: 20,
        avgLatencyMs: 100,
      },
    ]);
    expect(store.usage.series(T0, 'day').map((point) => point.time)).toEqual([T0, T0]);
    expect(store.usage.totals(T0 + 15)).toEqual({
      requests: 2,
      errors: 1,
      costUsd: 0.375,
      inputTokens: 20,
      outputTokens: 40,
    });
    expect(store.usage.byProvider(0)).toEqual([
      { providerId: 'openai', requests: 2, share: 2 / 3, costUsd: 0.75 },
      { providerId: 'groq', requests: 1, share: 1 / 3, costUsd: 0.125 },
    ]);
    const now = T0 + 2 * HOUR;
    expect(store.usage.spend('monthly', undefined, now)).toBe(0.875);
    expect(store.usage.spend('monthly', 'groq', now)).toBe(0.125);
    store.close();
  });

  it('rejects an event that is not one (boundary validation)', () => {
    const store = openStore({ file: join(tempDir(), 'sb.db') });
    expect(() => store.usage.record({ ...event('x', 1, 'p', 1), costUsd: -1 })).toThrow();
    store.close();
  });

  it('starts budget periods at local midnight and the first of the month, and ends them at the next', () => {
    const now = new Date(2026, 10, 21, 15, 30).getTime();
    expect(budgetPeriodOf('daily', now)).toEqual({
      from: new Date(2026, 10, 21).getTime(),
      until: new Date(2026, 10, 22).getTime(),
      key: '2026-11-21',
    });
    expect(budgetPeriodOf('monthly', now)).toEqual({
      from: new Date(2026, 10, 1).getTime(),
      until: new Date(2026, 11, 1).getTime(),
      key: '2026-11',
    });
    // The next day is a period of its own, not the one remembered.
    expect(budgetPeriodOf('daily', new Date(2026, 10, 22, 0, 0, 1).getTime()).key).toBe('2026-11-22');
    expect(budgetPeriodOf('monthly', new Date(2026, 11, 31, 23, 59).getTime()).key).toBe('2026-12');
  });
});
