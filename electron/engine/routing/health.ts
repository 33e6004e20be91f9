import type { EngineConfig, EngineProvider } from '../config/types.ts';
import { toSwitchboardError } from '../contract/errors.ts';
import type { Clock } from '../core/clock.ts';
import type { ProviderAdapter } from '../providers/types.ts';
import { isUsable } from './usable.ts';

export type HealthStatus = 'healthy' | 'degraded' | 'down' | 'disabled' | 'unknown';

export interface ProviderHealth {
  providerId: string;
  status: HealthStatus;
  /** Epoch ms of the last check. */
  checkedAt?: number;
  latencyMs?: number;
  models?: number;
  error?: string;
  consecutiveFailures: number;
}

export interface HealthChange {
  providerId: string;
  from: HealthStatus;
  to: HealthStatus;
  health: ProviderHealth;
}

const CHECK_TIMEOUT_MS = 10_000;
/** Failed checks in a row before a provider counts as down (one is only degraded: networks blip). */
const DOWN_AFTER = 2;

export interface HealthDeps {
  clock: Clock;
  /** A key the pool would use now, for the check. */
  keyFor(provider: EngineProvider): string | undefined;
  /** Whether any of the provider's circuit breakers is open (a passing check then reads degraded). */
  breakerOpen(providerId: string): boolean;
  onChange(change: HealthChange): void;
}

/**
 * Provider health: a cheap call (list models) on each provider's schedule (healthCheckIntervalMs),
 * or all at once on demand; requests' own outcomes move it too, so a provider that answers again
 * recovers without waiting for the next check.
 */
export class HealthMonitor {
  private readonly deps: HealthDeps;
  private readonly health = new Map<string, ProviderHealth>();
  private readonly timers = new Map<string, () => void>();
  private config?: EngineConfig;
  private adapters: ReadonlyMap<string, ProviderAdapter> = new Map();

  constructor(deps: HealthDeps) {
    this.deps = deps;
  }

  private usable(provider: EngineProvider): boolean {
    return isUsable(this.config!, provider, this.adapters);
  }

  configure(config: EngineConfig, adapters: ReadonlyMap<string, ProviderAdapter>): void {
    this.config = config;
    this.adapters = adapters;
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    const ids = new Set(config.providers.map((p) => p.id));
    for (const id of this.health.keys()) if (!ids.has(id)) this.health.delete(id);
    for (const provider of config.providers) {
      if (!this.usable(provider)) {
        this.set(provider.id, { ...this.get(provider.id), status: 'disabled', consecutiveFailures: 0 });
        continue;
      }
      if (this.get(provider.id).status === 'disabled')
        this.set(provider.id, { providerId: provider.id, status: 'unknown', consecutiveFailures: 0 });
      if (provider.healthCheckIntervalMs > 0) this.schedule(provider);
    }
  }

  private schedule(provider: EngineProvider): void {
    const cancel = this.deps.clock.background(provider.healthCheckIntervalMs, () => {
      this.timers.delete(provider.id);
      void this.check(provider.id).finally(() => {
        const current = this.config?.providers.find((p) => p.id === provider.id);
        if (current && this.usable(current) && current.healthCheckIntervalMs > 0 && !this.timers.has(current.id))
          this.schedule(current);
      });
    });
    this.timers.set(provider.id, cancel);
  }

  get(providerId: string): ProviderHealth {
    return this.health.get(providerId) ?? { providerId, status: 'unknown', consecutiveFailures: 0 };
  }

  statusOf(providerId: string): HealthStatus {
    return this.health.get(providerId)?.status ?? 'unknown';
  }

  all(): ProviderHealth[] {
    return (this.config?.providers ?? []).map((p) => this.get(p.id));
  }

  private set(providerId: string, next: ProviderHealth): void {
    const previous = this.get(providerId);
    const health = { ...next, providerId };
    this.health.set(providerId, health);
    if (previous.status !== health.status) {
      this.deps.onChange({ providerId, from: previous.status, to: health.status, health });
    }
  }

  async check(providerId: string): Promise<ProviderHealth> {
    const provider = this.config?.providers.find((p) => p.id === providerId);
    const adapter = this.adapters.get(providerId);
    if (!provider || !adapter || !this.usable(provider)) {
      this.set(providerId, { ...this.get(providerId), status: 'disabled', consecutiveFailures: 0 });
      return this.get(providerId);
    }
    const started = performance.now();
    try {
      const models = await adapter.listModels({
        signal: AbortSignal.timeout(Math.min(CHECK_TIMEOUT_MS, provider.timeoutMs)),
        apiKey: this.deps.keyFor(provider),
      });
      // Answering with no model to offer is no health: nothing could be sent to it.
      const empty = models.length === 0;
      this.set(providerId, {
        providerId,
        status: empty || this.deps.breakerOpen(providerId) ? 'degraded' : 'healthy',
        checkedAt: this.deps.clock.now(),
        latencyMs: Math.round(performance.now() - started),
        models: models.length,
        error: empty
          ? provider.kind === 'local'
            ? 'no model is installed: `switchboard models recommend`, then `switchboard models pull ID`'
            : `${provider.label} lists no models`
          : undefined,
        consecutiveFailures: 0,
      });
    } catch (error) {
      const failures = this.get(providerId).consecutiveFailures + 1;
      this.set(providerId, {
        providerId,
        status: failures >= DOWN_AFTER ? 'down' : 'degraded',
        checkedAt: this.deps.clock.now(),
        error: toSwitchboardError(error).message,
        consecutiveFailures: failures,
      });
    }
    return this.get(providerId);
  }

  checkAll(): Promise<ProviderHealth[]> {
    return Promise.all((this.config?.providers ?? []).map((p) => this.check(p.id)));
  }

  /** A request succeeded: a provider marked down or degraded is evidently answering again. */
  noteSuccess(providerId: string): void {
    const health = this.health.get(providerId);
    if (health && (health.status === 'down' || health.status === 'degraded' || health.status === 'unknown')) {
      this.set(providerId, {
        ...health,
        status: this.deps.breakerOpen(providerId) ? 'degraded' : 'healthy',
        consecutiveFailures: 0,
      });
    }
  }

  /** A breaker opened or closed: healthy ⇄ degraded follows it (down waits for a check or a success). */
  noteBreaker(providerId: string): void {
    const health = this.health.get(providerId);
    if (!health) {
      if (this.deps.breakerOpen(providerId))
        this.set(providerId, { providerId, status: 'degraded', consecutiveFailures: 0 });
      return;
    }
    if (health.status === 'healthy' && this.deps.breakerOpen(providerId))
      this.set(providerId, { ...health, status: 'degraded' });
    else if (health.status === 'degraded' && health.consecutiveFailures === 0 && !this.deps.breakerOpen(providerId))
      this.set(providerId, { ...health, status: 'healthy' });
  }

  close(): void {
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }
}
