import type { Clock } from './clock.ts';
import type { RoutingState } from './state.ts';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerSettings {
  /** Consecutive failures that open the breaker. */
  maxFailures: number;
  /** Failure share (0..1) inside the window that opens it, once the window holds `minRequests`. */
  failureRate: number;
  minRequests: number;
  windowMs: number;
  /** How long an open breaker lets nothing through before one probe. */
  recoveryMs: number;
}

export const DEFAULT_BREAKER: BreakerSettings = {
  maxFailures: 5,
  failureRate: 0.5,
  minRequests: 20,
  windowMs: 60_000,
  recoveryMs: 30_000,
};

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
 * exactly one probe goes through, and its outcome closes or re-opens the breaker.
 */
export class CircuitBreakers {
  private readonly state: RoutingState;
  private readonly clock: Clock;
  settings: BreakerSettings;
  private readonly onChange: (key: string, from: BreakerState, to: BreakerState) => void;

  constructor(
    state: RoutingState,
    clock: Clock,
    settings: BreakerSettings,
    onChange: (key: string, from: BreakerState, to: BreakerState) => void = () => {},
  ) {
    this.state = state;
    this.clock = clock;
    this.settings = settings;
    this.onChange = onChange;
  }

  private read(key: string): BreakerRecord | undefined {
    return this.state.get<BreakerRecord>('breaker', key);
  }

  private write(key: string, record: BreakerRecord): void {
    this.state.set('breaker', key, record);
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

  private move(key: string, record: BreakerRecord, to: BreakerState): void {
    const from = record.state;
    record.state = to;
    if (from !== to) this.onChange(key, from, to);
  }

  /** Whether a request could go now, without taking the probe: for planning and statistics. */
  isAvailable(key: string): boolean {
    const record = this.read(key);
    if (!record || record.state === 'closed') return true;
    if (record.state === 'half_open') return !record.probing;
    return this.clock.now() - record.openedAt >= this.settings.recoveryMs;
  }

  stateOf(key: string): BreakerState {
    const record = this.read(key);
    if (!record) return 'closed';
    // An open breaker whose recovery time has passed is waiting for its probe: half-open in all but name.
    if (record.state === 'open' && this.clock.now() - record.openedAt >= this.settings.recoveryMs) return 'half_open';
    return record.state;
  }

  /** When an open breaker lets its probe through (epoch ms); undefined unless open. */
  retryAt(key: string): number | undefined {
    const record = this.read(key);
    return record?.state === 'open' ? record.openedAt + this.settings.recoveryMs : undefined;
  }

  /** Called right before an attempt; a `probe` ticket must be followed by success, failure or release. */
  acquire(key: string): BreakerTicket {
    const record = this.read(key);
    if (!record || record.state === 'closed') return 'pass';
    if (record.state === 'open') {
      if (this.clock.now() - record.openedAt < this.settings.recoveryMs) return 'blocked';
      this.move(key, record, 'half_open');
    }
    if (record.probing) return 'blocked';
    record.probing = true;
    this.write(key, record);
    return 'probe';
  }

  success(key: string): void {
    const record = this.read(key) ?? this.fresh();
    this.roll(record);
    record.requests++;
    record.consecutive = 0;
    if (record.state !== 'closed') {
      record.probing = false;
      record.requests = 1;
      record.failures = 0;
      record.windowStart = this.clock.now();
      this.move(key, record, 'closed');
    }
    this.write(key, record);
  }

  failure(key: string): void {
    const record = this.read(key) ?? this.fresh();
    this.roll(record);
    record.requests++;
    record.failures++;
    record.consecutive++;
    const s = this.settings;
    const tripped =
      record.state === 'half_open' ||
      record.consecutive >= s.maxFailures ||
      (record.requests >= s.minRequests && record.failures / record.requests >= s.failureRate);
    if (tripped && record.state !== 'open') {
      record.openedAt = this.clock.now();
      record.probing = false;
      record.trips++;
      this.move(key, record, 'open');
    } else if (record.state === 'open') {
      // A late failure from an attempt that started before the breaker opened: restart the wait.
      record.openedAt = this.clock.now();
    }
    this.write(key, record);
  }

  /** The attempt ended without saying anything about the provider's health (cancelled by the caller). */
  release(key: string): void {
    const record = this.read(key);
    if (record?.probing) {
      record.probing = false;
      this.write(key, record);
    }
  }

  reset(key?: string): void {
    if (key === undefined) this.state.clear('breaker');
    else this.state.delete('breaker', key);
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
        retryAt: record.state === 'open' ? record.openedAt + this.settings.recoveryMs : undefined,
        trips: record.trips,
      });
    }
    return views.sort((a, b) => a.key.localeCompare(b.key));
  }

  private roll(record: BreakerRecord): void {
    const now = this.clock.now();
    if (now - record.windowStart >= this.settings.windowMs) {
      record.windowStart = now;
      record.requests = 0;
      record.failures = 0;
    }
  }
}
