import type { FailoverSettings } from '../config/types.ts';
import { describeDuration } from '../contract/errors.ts';
import type { Clock } from '../core/clock.ts';
import { isPromise, type RoutingState, STATISTIC, type UpdateOptions } from '../core/state.ts';
import { countsAgainstProvider } from './policy.ts';
import { refuse, type Stage } from './stage.ts';

export type BreakerState = 'closed' | 'open' | 'half_open';

/** A breaker's thresholds: a provider's failover settings (config/normalize.ts gives every one its defaults). */
export type BreakerSettings = Omit<FailoverSettings, 'fallbackProviders'>;

interface BreakerRecord {
  state: BreakerState;
  consecutive: number;
  windowStart: number;
  requests: number;
  failures: number;
  openedAt: number;
  /** True while the one half-open probe is out. */
  probing: boolean;
  /** Times it opened, for statistics. */
  trips: number;
}

export interface BreakerView {
  /** `provider/model`. */
  key: string;
  providerId: string;
  model: string;
  state: BreakerState;
  consecutiveFailures: number;
  windowRequests: number;
  windowFailures: number;
  /** When an open breaker lets its probe through (epoch ms). */
  retryAt?: number;
  trips: number;
}

/** What an attempt may do: go ahead, go as the single half-open probe, or not at all. */
export type BreakerTicket = 'pass' | 'probe' | 'blocked';

export function breakerKey(providerId: string, model: string): string {
  return `${providerId}/${model}`;
}

/**
 * Circuit breakers per provider+model. Every attempt reports to them — first tries, retries on the
 * same provider and fallback attempts alike — so a breaker opens for whatever deployment is failing,
 * however the request got there. Open means no traffic at all until `recoveryMs` has passed; then
 * exactly one probe goes through, and its outcome closes or re-opens the breaker. Only failures that
 * say the provider is unwell count (policy.ts: a client's invalid request or the gateway's own
 * failure never does). Every change is one atomic update of the breaker's record.
 */
export class CircuitBreakers {
  private readonly state: RoutingState;
  private readonly clock: Clock;
  private readonly settingsFor: (providerId: string) => BreakerSettings;
  private readonly onChange: (key: string, from: BreakerState, to: BreakerState) => void;

  constructor(
    state: RoutingState,
    clock: Clock,
    settingsFor: (providerId: string) => BreakerSettings,
    onChange: (key: string, from: BreakerState, to: BreakerState) => void = () => {},
  ) {
    this.state = state;
    this.clock = clock;
    this.settingsFor = settingsFor;
    this.onChange = onChange;
  }

  private settings(key: string): BreakerSettings {
    return this.settingsFor(key.slice(0, key.indexOf('/')));
  }

  private read(key: string): BreakerRecord | undefined {
    return this.state.get<BreakerRecord>('breaker', key);
  }

  private fresh(): BreakerRecord {
    return {
      state: 'closed',
      consecutive: 0,
      windowStart: this.clock.now(),
      requests: 0,
      failures: 0,
      openedAt: 0,
      probing: false,
      trips: 0,
    };
  }

  /**
   * One atomic step on a breaker's record; `step` returns the state it moved to. Listeners hear of a
   * change once the step is stored (a shared backend may run the reducer more than once).
   */
  private async step(key: string, step: (record: BreakerRecord) => void, options?: UpdateOptions): Promise<void> {
    let from: BreakerState = 'closed';
    let to: BreakerState = 'closed';
    const done = this.state.update<BreakerRecord>(
      'breaker',
      key,
      (current) => {
        const record = current ?? this.fresh();
        from = record.state;
        step(record);
        to = record.state;
        return record;
      },
      0,
      options,
    );
    if (isPromise(done)) await done;
    if (from !== to) this.onChange(key, from, to);
  }

  /** Whether a request could go now, without taking the probe: for planning and statistics. */
  isAvailable(key: string): boolean {
    const record = this.read(key);
    if (!record || record.state === 'closed') return true;
    if (record.state === 'half_open') return !record.probing;
    return this.clock.now() - record.openedAt >= this.settings(key).recoveryMs;
  }

  stateOf(key: string): BreakerState {
    const record = this.read(key);
    if (!record) return 'closed';
    // An open breaker whose recovery time has passed is waiting for its probe: half-open in all but name.
    if (record.state === 'open' && this.clock.now() - record.openedAt >= this.settings(key).recoveryMs)
      return 'half_open';
    return record.state;
  }

  /** When an open breaker lets its probe through (epoch ms); undefined unless open. */
  retryAt(key: string): number | undefined {
    const record = this.read(key);
    return record?.state === 'open' ? record.openedAt + this.settings(key).recoveryMs : undefined;
  }

  /** Called right before an attempt; a `probe` ticket must be followed by success, failure or release. */
  async acquire(key: string): Promise<BreakerTicket> {
    const current = this.read(key);
    // The common case needs no write: a closed breaker lets everything through.
    if (!current || current.state === 'closed') return 'pass';
    const { recoveryMs } = this.settings(key);
    let ticket: BreakerTicket = 'pass';
    await this.step(key, (record) => {
      ticket = 'pass';
      if (record.state === 'closed') return;
      if (record.state === 'open') {
        if (this.clock.now() - record.openedAt < recoveryMs) {
          ticket = 'blocked';
          return;
        }
        record.state = 'half_open';
        record.probing = false;
      }
      if (record.probing) {
        ticket = 'blocked';
        return;
      }
      record.probing = true;
      ticket = 'probe';
    });
    return ticket;
  }

  success(key: string): Promise<void> {
    const current = this.read(key);
    if (!current || current.state === 'closed') {
      // On a closed breaker a success changes no state, it only counts: written with the record's next
      // change (a failure takes it along, first) or within moments (UpdateOptions.statistic). Should
      // the breaker have opened meanwhile (another instance), the count is dropped: the probe decides.
      return this.step(
        key,
        (record) => {
          if (record.state === 'closed') this.countSuccess(key, record);
        },
        STATISTIC,
      );
    }
    return this.step(key, (record) => {
      this.countSuccess(key, record);
      if (record.state !== 'closed') {
        record.probing = false;
        record.requests = 1;
        record.failures = 0;
        record.windowStart = this.clock.now();
        record.state = 'closed';
      }
    });
  }

  private countSuccess(key: string, record: BreakerRecord): void {
    this.roll(key, record);
    record.requests++;
    record.consecutive = 0;
  }

  failure(key: string): Promise<void> {
    const s = this.settings(key);
    return this.step(key, (record) => {
      this.roll(key, record);
      record.requests++;
      record.failures++;
      record.consecutive++;
      const tripped =
        record.state === 'half_open' ||
        record.consecutive >= s.maxFailures ||
        (record.requests >= s.minRequests && record.failures / record.requests >= s.failureRate);
      if (tripped && record.state !== 'open') {
        record.openedAt = this.clock.now();
        record.probing = false;
        record.trips++;
        record.state = 'open';
      } else if (record.state === 'open') {
        // A late failure from an attempt that started before the breaker opened: restart the wait.
        record.openedAt = this.clock.now();
      }
    });
  }

  /** The attempt ended without saying anything about the provider's health (cancelled, not sent). */
  async release(key: string): Promise<void> {
    if (!this.read(key)?.probing) return;
    await this.step(key, (record) => {
      record.probing = false;
    });
  }

  reset(key?: string): void {
    if (key === undefined) void this.state.clear('breaker');
    else void this.state.delete('breaker', key);
  }

  views(): BreakerView[] {
    const views: BreakerView[] = [];
    for (const [key, record] of this.state.entries<BreakerRecord>('breaker')) {
      const slash = key.indexOf('/');
      const state = this.stateOf(key);
      views.push({
        key,
        providerId: key.slice(0, slash),
        model: key.slice(slash + 1),
        state,
        consecutiveFailures: record.consecutive,
        windowRequests: record.requests,
        windowFailures: record.failures,
        retryAt: record.state === 'open' ? record.openedAt + this.settings(key).recoveryMs : undefined,
        trips: record.trips,
      });
    }
    return views.sort((a, b) => a.key.localeCompare(b.key));
  }

  private roll(key: string, record: BreakerRecord): void {
    const now = this.clock.now();
    if (now - record.windowStart >= this.settings(key).windowMs) {
      record.windowStart = now;
      record.requests = 0;
      record.failures = 0;
    }
  }
}

/**
 * The breaker as a pipeline stage: an attempt goes only when the breaker of its provider and model
 * lets it (open: skipped; half-open: the one probe), and reports back how it went.
 */
export function breakerStage(breakers: CircuitBreakers, clock: Clock): Stage {
  return {
    name: 'breaker',
    applies: () => true,
    async enter(attempt) {
      const key = breakerKey(attempt.candidate.provider.id, attempt.candidate.model);
      if ((await breakers.acquire(key)) === 'blocked') {
        const wait = Math.max(0, (breakers.retryAt(key) ?? clock.now()) - clock.now());
        return refuse(
          'CIRCUIT_OPEN',
          `skipped: its circuit breaker is open after repeated failures (next probe in ${describeDuration(wait)})`,
        );
      }
      return {
        leave(outcome) {
          if (outcome.type === 'success') void breakers.success(key);
          else if (outcome.type === 'failure' && countsAgainstProvider(outcome.errorClass)) void breakers.failure(key);
          else void breakers.release(key);
        },
      };
    },
  };
}
