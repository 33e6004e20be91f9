import { createHash } from 'node:crypto';
import { maskKey } from '../contract/errors.ts';
import type { ProviderConfig } from '../providers/types.ts';
import type { Clock } from './clock.ts';
import type { RoutingState } from './state.ts';

/** How long a key that got 429 without a Retry-After rests before it is used again. */
const DEFAULT_COOLDOWN_MS = 30_000;

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

/**
 * Several keys per provider in rotation. A key the provider rejects is disabled and reported; a key
 * that hits a rate limit rests for the Retry-After while the others carry on.
 */
export class KeyPools {
  private readonly state: RoutingState;
  private readonly clock: Clock;
  private readonly fingerprints = new Map<string, string>();
  private readonly onDisabled: (providerId: string, maskedKey: string, reason: string) => void;

  constructor(
    state: RoutingState,
    clock: Clock,
    onDisabled: (providerId: string, maskedKey: string, reason: string) => void = () => {},
  ) {
    this.state = state;
    this.clock = clock;
    this.onDisabled = onDisabled;
  }

  /** The id limits and state use for a key ('' for keyless providers). */
  idOf(key: string | undefined): string {
    if (!key) return '';
    let id = this.fingerprints.get(key);
    if (!id) {
      id = keyFingerprint(key);
      // Bounded by the keys configured; cleared on reconfigure so removed keys do not linger.
      this.fingerprints.set(key, id);
    }
    return id;
  }

  forget(): void {
    this.fingerprints.clear();
  }

  private record(provider: ProviderConfig, key: string): KeyRecord | undefined {
    return this.state.get<KeyRecord>('keys', `${provider.id}:${this.idOf(key)}`);
  }

  /**
   * Keys usable now, in rotation order (the next in turn first). Empty for a provider whose keys are
   * all disabled or resting; `[undefined]` for a keyless provider.
   */
  usable(provider: ProviderConfig): (string | undefined)[] {
    const now = this.clock.now();
    if (provider.keys.length === 0) {
      // A keyless provider (Ollama, local, an open endpoint) rests as a whole after a 429.
      const record = this.state.get<KeyRecord>('keys', `${provider.id}:`);
      return record && record.coolUntil > now ? [] : [undefined];
    }
    const cursorKey = `cursor:${provider.id}`;
    const cursor = this.state.add('keys', cursorKey, 1) - 1;
    const out: string[] = [];
    const n = provider.keys.length;
    for (let i = 0; i < n; i++) {
      const key = provider.keys[(cursor + i) % n]!;
      const record = this.record(provider, key);
      if (!record || (!record.disabled && record.coolUntil <= now)) out.push(key);
    }
    return out;
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
    const id = `${provider.id}:${this.idOf(key)}`;
    const record = this.state.get<KeyRecord>('keys', id) ?? { coolUntil: 0 };
    if (record.disabled) return;
    record.disabled = reason;
    this.state.set('keys', id, record);
    this.onDisabled(provider.id, maskKey(key), reason);
  }

  coolDown(provider: ProviderConfig, key: string | undefined, retryAfterMs: number | undefined): void {
    const id = `${provider.id}:${this.idOf(key)}`;
    const record = this.state.get<KeyRecord>('keys', id) ?? { coolUntil: 0 };
    record.coolUntil = Math.max(record.coolUntil, this.clock.now() + (retryAfterMs ?? DEFAULT_COOLDOWN_MS));
    this.state.set('keys', id, record);
  }

  /** Puts a disabled key back into rotation (after the user fixed it at the vendor). */
  enable(provider: ProviderConfig, key: string): void {
    this.state.delete('keys', `${provider.id}:${this.idOf(key)}`);
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
