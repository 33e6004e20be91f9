import { describe, expect, it } from 'vitest';
import { type ErrorCode, isSwitchboardError } from '../../../electron/engine/contract/errors.ts';
import { collectChat } from '../../../electron/engine/providers/collect.ts';
import { type FaultKind, faultMix } from '../../fakes/faults.ts';
import { PROTOCOLS, setUp, timedChat } from './harness.ts';

const EXPECTED: Record<FaultKind, ErrorCode> = {
  unauthorized: 'PROVIDER_UNAUTHORIZED',
  forbidden: 'PROVIDER_FORBIDDEN',
  'unknown-model': 'MODEL_NOT_FOUND',
  'rate-limit': 'RATE_LIMITED',
  quota: 'QUOTA_EXCEEDED',
  'content-filter': 'CONTENT_FILTERED',
  'server-error': 'PROVIDER_UNAVAILABLE',
  unavailable: 'PROVIDER_UNAVAILABLE',
  'context-too-long': 'CONTEXT_TOO_LONG',
  'bad-request': 'INVALID_REQUEST',
  hang: 'TIMEOUT',
  reset: 'CONNECTION_FAILED',
  malformed: 'BAD_RESPONSE',
  cut: 'STREAM_INTERRUPTED',
  'stream-error': 'PROVIDER_UNAVAILABLE',
};

const REQUESTS = 120;
const CONCURRENCY = 8;

describe.each(PROTOCOLS)('$name under a random mix of every fault', (protocol) => {
  it(`answers ${REQUESTS} concurrent calls with a result or the typed error each injected fault calls for`, async () => {
    const mix = Object.fromEntries(Object.keys(EXPECTED).map((kind) => [kind, 0.05])) as Record<FaultKind, number>;
    // Generous timeouts: only the injected hangs may time out, even on a loaded machine.
    const setup = await setUp(
      protocol,
      { text: 'alpha beta gamma delta epsilon zeta', faults: faultMix(mix, { seed: 7 }) },
      { firstTokenTimeoutMs: 3_000, timeoutMs: 10_000 },
    );
    try {
      const outcomes: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < REQUESTS) {
          next++;
          try {
            const result = await collectChat(
              timedChat(
                setup.adapter,
                { model: protocol.model, messages: [{ role: 'user', content: 'go' }] },
                setup.key,
              ),
            );
            expect(result.text).toBe('alpha beta gamma delta epsilon zeta');
            outcomes.push('ok');
          } catch (error) {
            expect(isSwitchboardError(error)).toBe(true);
            outcomes.push((error as { code: string }).code);
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const injected = setup.fake.requests.map((r) => (r.fault ? EXPECTED[r.fault as FaultKind] : 'ok'));
      expect(outcomes.sort()).toEqual(injected.sort());
      expect(outcomes.filter((o) => o !== 'ok').length).toBeGreaterThan(REQUESTS * 0.3);
    } finally {
      await setup.fake.close();
    }
  });
});
