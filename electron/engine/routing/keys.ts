import { createHash } from 'node:crypto';
import type { ProviderConfig } from '../config/provider-config.ts';
import { describeDuration, maskKey } from '../contract/errors.ts';
import type { Clock } from '../core/clock.ts';
import { isPromise, type RoutingState, TURN } from '../core/state.ts';
import { refuse, type Stage } from './stage.ts';

/** How long a key that got 429 without a Retry-After rests before it is used again. */
const DEFAULT_COOLDOWN_MS = 30_000;
/** How long a key whose quota or credit is used up rests, unless the provider said when it comes back. */
const QUOTA_COOLDOWN_MS = 3_600_000;

interface KeyRecord {
  /** Epoch ms until which the key rests after a 429. */
  coolUntil: number;
  /** Set once the provider rejected the key (401/403): it is not used again until the configuration changes. */
  disabled?: string;
}

export interface KeyView {
  providerId: string;
  /** `…a9f2`. */
  key: string;
  status: 'active' | 'cooling' | 'disabled';
  coolUntil?: number;
  reason?: string;
}

/** A key's identity in shared state: a hash, so no backend ever holds a key. */
export function keyFingerprint(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** Fingerprints of the keys in use; bounded (cleared when full), so rotating keys cannot grow it. */
const fingerprints = new Map<string, string>();
const MAX_FINGERPRINTS = 1024;

/** The id limits and state use for a key ('' for keyless providers). */
export function keyIdOf(key: string | undefined): string {
  if (!key) return '';
  let id = fingerprints.get(key);
  if (!id) {
    if (fingerprints.size >= MAX_FINGERPRINTS) fingerprints.clear();
    id = keyFingerprint(key);
    fingerprints.set(key, id);
  }
  return id;
}

/**
 * Several keys per provider in rotation. A key the provider rejects is disabled and reported; a key
 * that hits a rate limit rests for the Retry-After while the others carry on.
 */
export class KeyPools {
  private readonly state: RoutingState;
  private readonly clock: Clock;
  private readonly onDisabled: (providerId: string, maskedKey: string, reason: string) => void;
  private readonly onRestored: (providerId: string, maskedKey: string) => void;

  constructor(
    state: RoutingState,
    clock: Clock,
    onDisabled: (providerId: string, maskedKey: string, reason: string) => void = () => {},
    onRestored: (providerId: string, maskedKey: string) => void = () => {},
  ) {
    this.state = state;
    this.clock = clock;
    this.onDisabled = onDisabled;
    this.onRestored = onRestored;
  }

  private record(provider: ProviderConfig, key: string): KeyRecord | undefined {
    return this.state.get<KeyRecord>('keys', `${provider.id}:${keyIdOf(key)}`);
  }

  /**
   * Keys usable now, in rotation order (the next in turn first). Empty for a provider whose keys are
   * all disabled or resting; `[undefined]` for a keyless provider.
   */
  usable(provider: ProviderConfig): (string | undefined)[] | Promise<(string | undefined)[]> {
    if (provider.keys.length === 0) {
      // A keyless provider (Ollama, an open endpoint) rests as a whole after a 429.
      const record = this.state.get<KeyRecord>('keys', `${provider.id}:`);
      return record && record.coolUntil > this.clock.now() ? [] : [undefined];
    }
    const turn = this.state.incr('keys', `cursor:${provider.id}`, 1, 0, TURN);
    return isPromise(turn) ? turn.then((t) => this.inRotation(provider, t - 1)) : this.inRotation(provider, turn - 1);
  }

  private inRotation(provider: ProviderConfig, cursor: number): string[] {
    const now = this.clock.now();
    const out: string[] = [];
    const n = provider.keys.length;
    for (let i = 0; i < n; i++) {
      const key = provider.keys[(cursor + i) % n]!;
      const record = this.record(provider, key);
      if (!record || (!record.disabled && record.coolUntil <= now)) out.push(key);
    }
    return out;
  }

  /** A key usable now, without moving the rotation (health checks). */
  firstUsable(provider: ProviderConfig): string | undefined {
    const now = this.clock.now();
    return provider.keys.find((key) => {
      const record = this.record(provider, key);
      return !record || (!record.disabled && record.coolUntil <= now);
    });
  }

  /** Whether any key (other than `except`) could be used now; no effect on the rotation. */
  anyUsable(provider: ProviderConfig, except?: string): boolean {
    const now = this.clock.now();
    if (provider.keys.length === 0) {
      const record = this.state.get<KeyRecord>('keys', `${provider.id}:`);
      return !record || record.coolUntil <= now;
    }
    for (const key of provider.keys) {
      if (key === except) continue;
      const record = this.record(provider, key);
      if (!record || (!record.disabled && record.coolUntil <= now)) return true;
    }
    return false;
  }

  /** When the first resting key is back, for "all keys are resting" messages (undefined: none will be). */
  nextAvailableAt(provider: ProviderConfig): number | undefined {
    let soonest: number | undefined;
    for (const key of provider.keys.length > 0 ? provider.keys : ['']) {
      const record = this.record(provider, key);
      if (record && !record.disabled) soonest = Math.min(soonest ?? Number.POSITIVE_INFINITY, record.coolUntil);
    }
    return soonest;
  }

  disable(provider: ProviderConfig, key: string, reason: string): void {
    if (this.record(provider, key)?.disabled) return;
    void this.state.update<KeyRecord>('keys', `${provider.id}:${keyIdOf(key)}`, (record = { coolUntil: 0 }) => {
      record.disabled ??= reason;
      return record;
    });
    this.onDisabled(provider.id, maskKey(key), reason);
  }

  coolDown(provider: ProviderConfig, key: string | undefined, retryAfterMs: number | undefined, quota = false): void {
    const until = this.clock.now() + (retryAfterMs ?? (quota ? QUOTA_COOLDOWN_MS : DEFAULT_COOLDOWN_MS));
    void this.state.update<KeyRecord>('keys', `${provider.id}:${keyIdOf(key)}`, (record = { coolUntil: 0 }) => {
      record.coolUntil = Math.max(record.coolUntil, until);
      return record;
    });
  }

  /** Puts a disabled key back into rotation (after the user fixed it at the vendor). */
  enable(provider: ProviderConfig, key: string): void {
    const wasDisabled = Boolean(this.record(provider, key)?.disabled);
    void this.state.delete('keys', `${provider.id}:${keyIdOf(key)}`);
    if (wasDisabled) this.onRestored(provider.id, maskKey(key));
  }

  views(provider: ProviderConfig): KeyView[] {
    const now = this.clock.now();
    return provider.keys.map((key) => {
      const record = this.record(provider, key);
      const status = record?.disabled ? 'disabled' : record && record.coolUntil > now ? 'cooling' : 'active';
      return {
        providerId: provider.id,
        key: maskKey(key),
        status,
        coolUntil: status === 'cooling' ? record!.coolUntil : undefined,
        reason: record?.disabled,
      };
    });
  }
}

/**
 * The key pool as a pipeline stage: picks the keys usable now (rotation order) for the attempt, and
 * takes a key out when the provider rejected it (401/403) or rests it for its Retry-After (429).
 * Keyless providers rest as a whole after a 429. The built-in local provider has no keys: it skips this.
 */
export function keyPoolStage(pools: KeyPools, clock: Clock): Stage {
  return {
    name: 'key pool',
    applies: (provider) => provider.kind !== 'local',
    async enter(attempt) {
      const { provider } = attempt.candidate;
      const keys = await pools.usable(provider);
      if (keys.length === 0) {
        const back = pools.nextAvailableAt(provider);
        return back === undefined
          ? refuse(
              'PROVIDER_UNAUTHORIZED',
              'skipped: every API key was rejected by the provider; fix the keys in Settings',
            )
          : refuse(
              'RATE_LIMITED',
              `skipped: rate limited, resting for ${describeDuration(back - clock.now())}`,
              back - clock.now(),
            );
      }
      attempt.keys = keys;
      attempt.apiKey = keys[0];
      return {
        leave(outcome) {
          if (outcome.type !== 'failure') return;
          if (outcome.errorClass === 'auth' && attempt.apiKey)
            pools.disable(provider, attempt.apiKey, outcome.error.detail);
          else if (outcome.errorClass === 'rate_limited' || outcome.errorClass === 'quota')
            pools.coolDown(provider, attempt.apiKey, outcome.error.retryAfterMs, outcome.errorClass === 'quota');
        },
      };
    },
  };
}
