import type { Clock } from '../core/clock.ts';
import { AttemptTimeout } from '../providers/http-errors.ts';
import type { Stage } from './stage.ts';

/**
 * The one timeout of a routed call: a provider's `first_token_timeout` until the first output arrives,
 * and its `timeout` for the whole answer. When one runs out the attempt's signal aborts with an
 * AttemptTimeout, which the adapter's error translation reports as TIMEOUT; adapters and SDKs arm no
 * timers of their own. An answer the caller collects in one piece has no first token to time; a
 * transcription reports progress for as long as the audio lasts, so only its first output is timed.
 */
export function timeoutStage(clock: Clock): Stage {
  return {
    name: 'timeout',
    applies: (provider) => provider.timeoutMs > 0 || provider.firstTokenTimeoutMs > 0,
    enter(attempt) {
      const { provider } = attempt.candidate;
      const abort = (limit: 'first-token' | 'total', ms: number) =>
        clock.timer(ms, () => attempt.controller.abort(new AttemptTimeout(limit, ms)));
      let firstToken =
        provider.firstTokenTimeoutMs > 0 && !attempt.scope.request.collected
          ? abort('first-token', provider.firstTokenTimeoutMs)
          : undefined;
      const total =
        provider.timeoutMs > 0 && attempt.scope.kind !== 'transcription'
          ? abort('total', provider.timeoutMs)
          : undefined;
      return {
        firstOutput() {
          firstToken?.();
          firstToken = undefined;
        },
        leave() {
          firstToken?.();
          total?.();
        },
      };
    },
  };
}
