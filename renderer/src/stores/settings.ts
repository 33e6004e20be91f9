import { create } from 'zustand';
import type {
  ApiInput,
  CatalogModelView,
  HardwareView,
  InstalledModelView,
  ProviderSummary,
  SettingsView,
} from '#contract/api.ts';
import { api } from '../api/client.ts';
import { coalesce } from '../lib/coalesce.ts';
import { type ShownError, toShownError } from '../lib/errors.ts';

export interface DownloadState {
  receivedBytes: number;
  totalBytes: number | null;
  bytesPerSecond: number;
  etaSeconds: number | null;
  error: ShownError | null;
}

export interface KeyTestResult {
  ok: boolean;
  message: string;
}

interface SettingsState {
  settings: SettingsView | null;
  providers: ProviderSummary[];
  hardware: HardwareView | null;
  catalog: CatalogModelView[];
  installed: InstalledModelView[];
  downloads: Record<string, DownloadState>;
  keyTests: Record<string, KeyTestResult>;
  error: ShownError | null;
  loaded: boolean;
  load(): Promise<void>;
  loadModels(): Promise<void>;
  update(change: ApiInput<'settings.update'>): Promise<void>;
  setEnabled(id: string, enabled: boolean): Promise<void>;
  reorder(ids: string[]): Promise<void>;
  addKey(id: string, key: string): Promise<boolean>;
  removeKey(id: string, index: number): Promise<void>;
  testKey(id: string, key?: string): Promise<void>;
  /** Adds a provider; the error when it could not be added (the form shows it), else null. */
  addProvider(input: ApiInput<'providers.add'>): Promise<ShownError | null>;
  /** Changes a provider's name, address, models or key; the error, else null. */
  updateProvider(input: ApiInput<'providers.update'>): Promise<ShownError | null>;
  removeProvider(id: string): Promise<void>;
  pull(id: string): Promise<void>;
  cancelPull(id: string): void;
  deleteModel(id: string): Promise<void>;
  /** Adds a model file or folder from this computer; true when it was added. */
  importModel(path: string, kind: 'llm' | 'embedding'): Promise<boolean>;
  clearError(): void;
}

const pulls = new Map<string, AbortController>();

export const useSettings = create<SettingsState>((set, get) => {
  /** Runs a change and shows its error; the pane never sees a rejected promise. */
  async function attempt<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await work();
      set({ error: null });
      return result;
    } catch (error) {
      set({ error: toShownError(error) });
      return undefined;
    }
  }

  /** Runs a change whose error the caller shows next to what was changed; the pane's error stays as it is. */
  async function tryHere<T>(work: () => Promise<T>): Promise<{ result: T } | { error: ShownError }> {
    try {
      return { result: await work() };
    } catch (error) {
      return { error: toShownError(error) };
    }
  }

  /** Checks providers at once after a change of keys or address, so their health badges say what it changed. */
  async function checkHealth(ids: string[]): Promise<void> {
    await Promise.all(ids.map((id) => attempt(() => api.call('providers.health', { id }))));
    await get().load();
  }

  const loadSettings = coalesce(async () => {
    await attempt(async () => {
      const [settings, providers] = await Promise.all([api.call('settings.get', {}), api.call('providers.list', {})]);
      set({ settings, providers });
    });
    set({ loaded: true });
  });

  const loadModels = coalesce(async () => {
    await attempt(async () => {
      const [hardware, catalog, installed] = await Promise.all([
        api.call('hardware.get', {}),
        api.call('models.catalog', {}),
        api.call('models.installed', {}),
      ]);
      set({ hardware, catalog, installed });
    });
  });

  return {
    settings: null,
    providers: [],
    hardware: null,
    catalog: [],
    installed: [],
    downloads: {},
    keyTests: {},
    error: null,
    loaded: false,

    load: loadSettings,
    loadModels,

    async update(change) {
      const settings = await attempt(() => api.call('settings.update', change));
      if (settings) {
        set({ settings });
        // Cloud fallback and local-only change which providers are usable.
        const providers = await attempt(() => api.call('providers.list', {}));
        if (providers) set({ providers });
      }
    },

    async setEnabled(id, enabled) {
      const providers = await attempt(() => api.call('providers.setEnabled', { id, enabled }));
      if (providers) set({ providers });
    },

    async reorder(ids) {
      // Show the new order at once; the engine's answer (or a reload on failure) settles it.
      const byId = new Map(get().providers.map((p) => [p.id, p]));
      set({ providers: ids.flatMap((id) => byId.get(id) ?? []) });
      const providers = await attempt(() => api.call('providers.reorder', { ids }));
      if (providers) set({ providers });
      else await get().load();
    },

    async addKey(id, key) {
      const providers = await attempt(() => api.call('providers.addKey', { id, key }));
      if (!providers) return false;
      set({ providers });
      await checkHealth([id]);
      return true;
    },

    async addProvider(input) {
      const before = new Set(get().providers.map((p) => p.id));
      const outcome = await tryHere(() => api.call('providers.add', input));
      if ('error' in outcome) return outcome.error;
      set({ providers: outcome.result });
      await checkHealth(outcome.result.filter((p) => !before.has(p.id)).map((p) => p.id));
      return null;
    },

    async updateProvider(input) {
      const outcome = await tryHere(() => api.call('providers.update', input));
      if ('error' in outcome) return outcome.error;
      set({ providers: outcome.result });
      await checkHealth([input.id]);
      return null;
    },

    async removeProvider(id) {
      const providers = await attempt(() => api.call('providers.remove', { id }));
      if (providers) set({ providers });
    },

    async removeKey(id, index) {
      const providers = await attempt(() => api.call('providers.removeKey', { id, index }));
      if (providers) set({ providers });
    },

    async testKey(id, key) {
      set((state) => {
        const { [id]: _, ...rest } = state.keyTests;
        return { keyTests: rest };
      });
      const result = await attempt(() => api.call('providers.testKey', { id, ...(key ? { key } : {}) }));
      if (result) set((state) => ({ keyTests: { ...state.keyTests, [id]: result } }));
    },

    async pull(id) {
      if (pulls.has(id)) return;
      const controller = new AbortController();
      pulls.set(id, controller);
      const setDownload = (download: DownloadState | undefined) =>
        set((state) => {
          const { [id]: _, ...rest } = state.downloads;
          return { downloads: download ? { ...rest, [id]: download } : rest };
        });
      setDownload({ receivedBytes: 0, totalBytes: null, bytesPerSecond: 0, etaSeconds: null, error: null });
      try {
        for await (const event of api.stream('models.pull', { id }, controller.signal)) {
          if (event.type === 'progress') setDownload({ ...event, error: null });
        }
        setDownload(undefined);
        // The Local provider now lists the new model too.
        await Promise.all([get().loadModels(), get().load()]);
      } catch (error) {
        const previous = get().downloads[id];
        setDownload({
          receivedBytes: previous?.receivedBytes ?? 0,
          totalBytes: previous?.totalBytes ?? null,
          bytesPerSecond: 0,
          etaSeconds: null,
          error: toShownError(error),
        });
      } finally {
        pulls.delete(id);
        if (controller.signal.aborted) setDownload(undefined);
      }
    },

    cancelPull(id) {
      pulls.get(id)?.abort();
    },

    async deleteModel(id) {
      if ((await attempt(() => api.call('models.delete', { id }))) !== undefined) {
        await Promise.all([get().loadModels(), get().load()]);
      }
    },

    async importModel(path, kind) {
      const added = await attempt(() => api.call('models.import', { path, kind }));
      if (added) await Promise.all([get().loadModels(), get().load()]);
      return added !== undefined;
    },

    clearError() {
      set({ error: null });
    },
  };
});
