import type { z } from 'zod';
import { type FileProvider, STRATEGIES, strategySchema } from '../config/schema.ts';
import { VENDOR_NAMES, VENDORS, type VendorDefaults } from '../config/vendors.ts';
import type { apiInputs, DefaultModelJob, ProviderSummary, SettingsView } from '../contract/api.ts';
import { SwitchboardError } from '../contract/errors.ts';
import type { Engine } from '../engine.ts';

type Input<M extends keyof typeof apiInputs> = z.output<(typeof apiInputs)[M]>;

export interface ProvidersApiDeps {
  engine: Engine;
}

/** The app's provider settings in the file's words; an empty address or default model means the type's own. */
function fileSettings(input: Omit<Input<'providers.update'>, 'id'>): FileProvider {
  const settings: FileProvider = {};
  if (input.label !== undefined) settings.name = input.label;
  if (input.baseUrl !== undefined) settings.base_url = input.baseUrl || undefined;
  if (input.models !== undefined) settings.models = input.models;
  if (input.defaultModel !== undefined) settings.default_model = input.defaultModel || undefined;
  return settings;
}

/** Handlers for providers.* and settings.* (contract/api.ts): what the Providers & settings pane shows and changes. */
export function createProvidersHandlers({ engine }: ProvidersApiDeps) {
  const list = (): ProviderSummary[] => {
    const stats = new Map(engine.reports.stats().providers.map((p) => [p.providerId, p]));
    return engine
      .listProviders()
      .sort((a, b) => a.priority - b.priority)
      .map((view) => {
        const stat = stats.get(view.id);
        return { ...view, health: view.enabled ? (stat?.health ?? 'unknown') : 'disabled', breaker: stat?.breaker };
      });
  };

  const settings = (): SettingsView => {
    const config = engine.config;
    const status = engine.status();
    return {
      cloudFallback: config.cloudFallback,
      meetingsCloud: config.meetingsCloud,
      mayLeave: status.mayLeave,
      keyProtection: status.keyProtection,
      localOnly: config.localOnly,
      strategy: config.strategy,
      strategies: [...STRATEGIES],
      modelOptions: config.modelOptions ?? {},
      defaults: Object.fromEntries(Object.entries(engine.defaultModels()).filter(([, model]) => model !== undefined)),
      providerTypes: VENDOR_NAMES.filter((type) => type !== 'local').map((type) => {
        const vendor: VendorDefaults = VENDORS[type];
        return { type, label: vendor.label, baseUrl: vendor.baseUrl, requiresKey: vendor.requiresKey };
      }),
      profiles: Object.values(config.profiles).map((p) => ({
        name: p.name,
        strategy: p.strategy,
        provider: p.provider,
        model: p.model,
        fallbackProviders: p.fallbackProviders,
      })),
      budgets: {
        daily: config.budgets.global.daily,
        monthly: config.budgets.global.monthly,
        alertThreshold: config.budgets.alertThreshold,
        hardStop: config.budgets.hardStop,
      },
      configFile: status.configFile,
      configError: status.configError,
      note: status.note,
    };
  };

  return {
    'providers.list': async (_input: Input<'providers.list'>) => {
      // What the local provider can do depends on the models installed now.
      await engine.refreshLocalModels(false);
      return list();
    },
    'providers.health': async (input: Input<'providers.health'>) => {
      const reports = await engine.health(input.id);
      return reports.map((r) => ({
        providerId: r.providerId,
        status: r.status,
        latencyMs: r.latencyMs,
        error: r.error,
      }));
    },
    'providers.setEnabled': async (input: Input<'providers.setEnabled'>) => {
      engine.setProviderEnabled(input.id, input.enabled);
      return list();
    },
    'providers.setPriority': async (input: Input<'providers.setPriority'>) => {
      engine.setProviderPriority(input.id, input.priority);
      return list();
    },
    'providers.reorder': async (input: Input<'providers.reorder'>) => {
      // Drag to reorder: the order shown becomes the priority order (0, 1, 2, …).
      input.ids.forEach((id, index) => {
        engine.setProviderPriority(id, index);
      });
      return list();
    },
    'providers.addKey': async (input: Input<'providers.addKey'>) => {
      engine.addKey(input.id, input.key);
      return list();
    },
    'providers.removeKey': async (input: Input<'providers.removeKey'>) => {
      engine.removeKey(input.id, input.index);
      return list();
    },
    'providers.testKey': (input: Input<'providers.testKey'>) => engine.testKey(input.id, input.key),
    'providers.add': async (input: Input<'providers.add'>) => {
      engine.addProvider({ type: input.type, ...fileSettings(input) }, { id: input.id, key: input.key });
      return list();
    },
    'providers.update': async (input: Input<'providers.update'>) => {
      engine.updateProvider(input.id, { ...fileSettings(input), ...(input.key ? { api_key: input.key } : {}) });
      return list();
    },
    'providers.remove': async (input: Input<'providers.remove'>) => {
      engine.removeProvider(input.id);
      return list();
    },
    'settings.get': async (_input: Input<'settings.get'>) => settings(),
    'settings.update': async (input: Input<'settings.update'>) => {
      if (input.cloudFallback !== undefined) engine.setCloudFallback(input.cloudFallback);
      if (input.meetingsCloud !== undefined) engine.setMeetingsCloud(input.meetingsCloud);
      if (input.localOnly !== undefined) engine.setLocalOnly(input.localOnly);
      if (input.strategy !== undefined) {
        const strategy = strategySchema.safeParse(input.strategy);
        if (!strategy.success) {
          throw new SwitchboardError(
            'INVALID_REQUEST',
            `unknown strategy "${input.strategy}": use one of ${STRATEGIES.join(', ')}`,
            {
              retryable: false,
            },
          );
        }
        engine.source.update((o) => {
          o.strategy = strategy.data;
        });
      }
      if (input.modelOptions) engine.setModelOptions(input.modelOptions.model, input.modelOptions.options);
      for (const [job, model] of Object.entries(input.defaults ?? {})) {
        if (model !== undefined) await engine.setDefaultModel(job as DefaultModelJob, model);
      }
      const budgets = input.budgets;
      if (budgets) {
        engine.source.update((o) => {
          const next = { ...o.budgets };
          if (budgets.daily !== undefined) next.daily = budgets.daily ?? undefined;
          if (budgets.monthly !== undefined) next.monthly = budgets.monthly ?? undefined;
          if (budgets.alertThreshold !== undefined) next.alert_threshold = budgets.alertThreshold;
          if (budgets.hardStop !== undefined) next.hard_stop = budgets.hardStop;
          o.budgets = next;
        });
      }
      return settings();
    },
  };
}
