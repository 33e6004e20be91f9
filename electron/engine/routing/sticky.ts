import type { Clock } from '../core/clock.ts';
import type { RoutingState } from '../core/state.ts';
import { hash32 } from './hash.ts';

/** Points per provider on the ring: enough that shares stay within a few percent of even. */
const VIRTUAL_NODES = 160;
/** Rings kept (one per distinct provider set). */
const MAX_RINGS = 64;

interface Ring {
  ids: string[];
  points: Uint32Array;
  owners: Uint16Array;
}

interface Assignment {
  providerId: string;
  /** The rotation window it was made in; forced assignments hold across windows. */
  window: number;
  forced?: boolean;
}

interface RotationRecord {
  /** Bumped by forceRotation(): a new window without waiting for the clock. */
  epoch: number;
  forcedAt: number;
}

export interface StickyStatistics {
  available_providers: string[];
  total_assignments: number;
  provider_usage: Record<string, number>;
  /** Share of cached users per provider, in percent. */
  distribution: Record<string, number>;
  cache_size: number;
  /** Epoch seconds of the last rotation (window boundary or forced), as every time in the seeds' API. */
  last_rotation: number;
}

function buildRing(ids: readonly string[]): Ring {
  const count = ids.length * VIRTUAL_NODES;
  const pairs: [number, number][] = [];
  for (let owner = 0; owner < ids.length; owner++) {
    for (let v = 0; v < VIRTUAL_NODES; v++) pairs.push([hash32(`${ids[owner]}#${v}`), owner]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const points = new Uint32Array(count);
  const owners = new Uint16Array(count);
  for (let i = 0; i < count; i++) {
    points[i] = pairs[i]![0];
    owners[i] = pairs[i]![1];
  }
  return { ids: [...ids], points, owners };
}

/** First ring position at or after `h` (wrapping). */
function seek(ring: Ring, h: number): number {
  let lo = 0;
  let hi = ring.points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ring.points[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === ring.points.length ? 0 : lo;
}

/**
 * Per-user sticky assignment: consistent hashing of the user id over the providers that can answer,
 * so a user keeps one provider (and its prompt cache) for a rotation window, and adding or removing a
 * provider moves only about 1/N of users. Each window re-seeds the hash, spreading users afresh at
 * the boundary. When a user's provider is unavailable, the next provider clockwise on the ring takes
 * the request without changing the assignment, so the user returns once it recovers.
 */
export class StickyAssignments {
  private readonly state: RoutingState;
  private readonly clock: Clock;
  windowMs: number;
  private readonly rings = new Map<string, Ring>();
  private lastIds: string[] = [];

  constructor(state: RoutingState, clock: Clock, windowMs: number) {
    this.state = state;
    this.clock = clock;
    this.windowMs = windowMs;
  }

  private rotation(): RotationRecord {
    return this.state.get<RotationRecord>('balance', 'sticky-rotation') ?? { epoch: 0, forcedAt: 0 };
  }

  /** The current window's number: the clock's window, plus forced rotations. */
  private window(): number {
    return Math.floor(this.clock.now() / this.windowMs) * 1024 + this.rotation().epoch;
  }

  private ring(setKey: string, ids: readonly string[]): Ring {
    let ring = this.rings.get(setKey);
    if (ring && sameIds(ring.ids, ids)) return ring;
    ring = buildRing(ids);
    if (this.rings.size >= MAX_RINGS) this.rings.delete(this.rings.keys().next().value!);
    this.rings.set(setKey, ring);
    return ring;
  }

  /**
   * The index in `ids` of the provider that answers this user now. `available(i)` says whether
   * ids[i] can take traffic at the moment; `setKey` names the provider set (profile + capability) so
   * its ring is reused.
   */
  choose(userId: string, setKey: string, ids: readonly string[], available: (index: number) => boolean): number {
    this.lastIds = ids as string[];
    const window = this.window();
    const record = this.state.get<Assignment>('sticky', userId);
    let index = -1;
    if (record && (record.forced || record.window === window)) index = ids.indexOf(record.providerId);
    const ring = this.ring(setKey, ids);
    if (index < 0) {
      const position = seek(ring, hash32(userId, window));
      index = ring.owners[position]!;
      // A pin outlives its provider being out of the set (disabled, or not offering this capability):
      // the user is served from the ring meanwhile and returns to the pinned provider when it is back.
      if (!record?.forced) {
        void this.state.set<Assignment>('sticky', userId, { providerId: ids[index]!, window }, this.msToWindowEnd());
        void this.state.incr('balance', 'sticky-assignments', 1);
      }
    }
    if (available(index)) return index;
    // The user's provider is out: walk clockwise to the next one that is in, from the user's point.
    const start = seek(ring, hash32(userId, window));
    for (let step = 1; step < ring.points.length; step++) {
      const owner = ring.owners[(start + step) % ring.points.length]!;
      if (owner !== index && available(owner)) return owner;
    }
    return index;
  }

  private msToWindowEnd(): number {
    const now = this.clock.now();
    return this.windowMs - (now % this.windowMs);
  }

  /** Pins a user to a provider until clearUser (across windows). */
  forceProvider(userId: string, providerId: string): void {
    void this.state.set<Assignment>('sticky', userId, { providerId, window: this.window(), forced: true });
  }

  clearUser(userId: string): void {
    void this.state.delete('sticky', userId);
  }

  /** Starts a new window now: every user not pinned is assigned afresh on their next request. */
  forceRotation(): void {
    const now = this.clock.now();
    void this.state.update<RotationRecord>('balance', 'sticky-rotation', (rotation) => ({
      epoch: ((rotation?.epoch ?? 0) + 1) % 1024,
      forcedAt: now,
    }));
  }

  /** The provider a user is assigned to now, if any. */
  assignment(userId: string): string | undefined {
    const record = this.state.get<Assignment>('sticky', userId);
    return record && (record.forced || record.window === this.window()) ? record.providerId : undefined;
  }

  statistics(): StickyStatistics {
    const window = this.window();
    const usage: Record<string, number> = {};
    let cached = 0;
    for (const [, record] of this.state.entries<Assignment>('sticky')) {
      if (!record.forced && record.window !== window) continue;
      usage[record.providerId] = (usage[record.providerId] ?? 0) + 1;
      cached++;
    }
    const boundary = Math.floor(this.clock.now() / this.windowMs) * this.windowMs;
    return {
      available_providers: [...this.lastIds],
      total_assignments: this.state.get<number>('balance', 'sticky-assignments') ?? 0,
      provider_usage: usage,
      distribution: Object.fromEntries(
        Object.entries(usage).map(([id, n]) => [id, cached === 0 ? 0 : Math.round((n / cached) * 10_000) / 100]),
      ),
      cache_size: this.state.size('sticky'),
      last_rotation: Math.max(boundary, this.rotation().forcedAt) / 1000,
    };
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
