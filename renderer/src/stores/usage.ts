import { create } from 'zustand';
import type { ApiCallOutputs, UsageView } from '#contract/api.ts';
import { api } from '../api/client.ts';
import { type ShownError, toShownError } from '../lib/errors.ts';

export const USAGE_RANGES = {
  '24h': { label: 'Last 24 hours', ms: 24 * 3600_000, bucket: 'hour' },
  '7d': { label: 'Last 7 days', ms: 7 * 24 * 3600_000, bucket: 'day' },
  '30d': { label: 'Last 30 days', ms: 30 * 24 * 3600_000, bucket: 'day' },
} as const;
export type UsageRange = keyof typeof USAGE_RANGES;

type HealthReport = ApiCallOutputs['providers.health'];

interface UsageState {
  range: UsageRange;
  usage: UsageView | null;
  health: HealthReport | null;
  checking: boolean;
  error: ShownError | null;
  load(range?: UsageRange): Promise<void>;
  checkHealth(): Promise<void>;
}

export const useUsage = create<UsageState>((set, get) => ({
  range: '24h',
  usage: null,
  health: null,
  checking: false,
  error: null,

  async load(range = get().range) {
    set({ range });
    const { ms, bucket } = USAGE_RANGES[range];
    try {
      const usage = await api.call('usage.get', { sinceMs: Date.now() - ms, bucket });
      if (get().range === range) set({ usage, error: null });
    } catch (error) {
      set({ error: toShownError(error) });
    }
  },

  async checkHealth() {
    set({ checking: true });
    try {
      set({ health: await api.call('providers.health', {}), error: null });
    } catch (error) {
      set({ error: toShownError(error) });
    } finally {
      set({ checking: false });
    }
  },
}));
