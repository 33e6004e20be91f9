import type { EngineConfig, EngineProvider, ProfileConfig } from '../config/types.ts';
import { SwitchboardError } from '../contract/errors.ts';
import type { ProviderAdapter } from '../providers/types.ts';
import type { Candidate, RoutingRequest } from './types.ts';
import { isUsable, mayReach } from './usable.ts';

/** What a request names, once profile aliases and `provider/model` ids are untangled. */
export interface ResolvedTarget {
  profile: ProfileConfig;
  providerId?: string;
  model?: string;
}

export function resolveTarget(config: EngineConfig, request: RoutingRequest): ResolvedTarget {
  let model = request.model?.trim() || undefined;
  let profile = config.profiles[request.profile ?? 'default'];
  if (!profile) {
    throw new SwitchboardError(
      'NOT_FOUND',
      `profile "${request.profile}" does not exist: use one of ${Object.keys(config.profiles).join(', ')}`,
      {
        retryable: false,
      },
    );
  }
  if (model && config.profiles[model]) {
    profile = config.profiles[model]!;
    model = profile.model;
  }
  let providerId = request.providerId;
  if (model?.includes('/')) {
    const slash = model.indexOf('/');
    const prefix = model.slice(0, slash);
    if (config.providers.some((p) => p.id === prefix)) {
      if (providerId && providerId !== prefix) {
        throw new SwitchboardError(
          'INVALID_REQUEST',
          `model "${model}" names provider ${prefix} but --provider says ${providerId}`,
          {
            retryable: false,
          },
        );
      }
      providerId = prefix;
      model = model.slice(slash + 1);
    }
  }
  return { profile, providerId: providerId ?? config.forceProvider, model };
}

function offers(
  provider: EngineProvider,
  model: string,
  knownModels: ReadonlyMap<string, ReadonlySet<string>>,
): boolean {
  return provider.models.includes(model) || Boolean(knownModels.get(provider.id)?.has(model));
}

/**
 * The providers that may answer a request, before any strategy orders them. Throws a clear error
 * when the answer is none: cloud switched off, provider unknown or disabled, model offered by nobody.
 */
export function resolveCandidates(
  config: EngineConfig,
  adapters: ReadonlyMap<string, ProviderAdapter>,
  request: RoutingRequest,
  target: ResolvedTarget,
  knownModels: ReadonlyMap<string, ReadonlySet<string>>,
): Candidate[] {
  const allowed = (p: EngineProvider) => mayReach(config, p);
  const usable = (p: EngineProvider) => isUsable(config, p, adapters, request.capability);
  const candidate = (provider: EngineProvider, model: string | undefined): Candidate => ({
    provider,
    adapter: adapters.get(provider.id)!,
    model: model ?? provider.defaultModel ?? '',
  });

  if (target.providerId) {
    const provider = config.providers.find((p) => p.id === target.providerId);
    if (!provider) {
      throw new SwitchboardError(
        'NO_PROVIDER',
        `provider "${target.providerId}" is not configured: see \`switchboard providers list\` (${config.providers.map((p) => p.id).join(', ')})`,
        { retryable: false },
      );
    }
    if (!allowed(provider)) {
      throw new SwitchboardError(
        'CLOUD_DISABLED',
        config.localOnly
          ? `local-only mode is on, so nothing is sent to ${provider.label}: use a local model, or turn local-only mode off in Settings`
          : `cloud fallback is off, so nothing is sent to ${provider.label}: use a local model, or turn cloud fallback on in Settings (CLOUD_FALLBACK=true)`,
        { providerId: provider.id, retryable: false },
      );
    }
    if (!provider.enabled) {
      throw new SwitchboardError(
        'NO_PROVIDER',
        `${provider.label} is disabled: enable it in Settings or with ${provider.id.toUpperCase()}_ENABLED=true`,
        {
          providerId: provider.id,
          retryable: false,
        },
      );
    }
    if (!provider.capabilities.includes(request.capability)) {
      throw new SwitchboardError('NOT_SUPPORTED', `${provider.label} does not offer ${request.capability}`, {
        providerId: provider.id,
        retryable: false,
      });
    }
    if (!adapters.has(provider.id)) {
      throw new SwitchboardError('NO_PROVIDER', `${provider.label} is not available in this process`, {
        providerId: provider.id,
        retryable: false,
      });
    }
    return [
      candidate(provider, target.model ?? (target.profile.provider === provider.id ? target.profile.model : undefined)),
    ];
  }

  const chain = [target.profile.provider, ...target.profile.fallbackProviders].filter((id): id is string =>
    Boolean(id),
  );
  let candidates: Candidate[];
  if (chain.length > 0) {
    candidates = chain
      .map((id) => config.providers.find((p) => p.id === id))
      .filter((p): p is EngineProvider => p !== undefined && usable(p))
      .map((p) => candidate(p, p.id === target.profile.provider ? (target.model ?? target.profile.model) : undefined));
    // A local model is the last resort of every chain unless the chain already has it.
    const local = config.providers.find((p) => p.kind === 'local' && usable(p) && !chain.includes(p.id));
    if (local && config.fallbackEnabled) candidates.push(candidate(local, undefined));
  } else {
    const providers = config.providers.filter(usable).sort((a, b) => a.priority - b.priority);
    const model = target.model;
    const offering = model ? providers.filter((p) => offers(p, model, knownModels)) : providers;
    if (model && offering.length === 0 && providers.length > 0) {
      throw new SwitchboardError(
        'MODEL_NOT_FOUND',
        `no enabled provider offers model "${model}": name it as provider/model (e.g. ${providers[0]!.id}/${model}), or see \`switchboard providers list\``,
        { retryable: false },
      );
    }
    candidates = offering.map((p) => candidate(p, model));
  }
  if (candidates.length === 0) {
    const cloudNote = config.cloudFallback ? '' : ' (cloud fallback is off, so only local providers count)';
    throw new SwitchboardError(
      'NO_PROVIDER',
      `no enabled provider can do ${request.capability}${cloudNote}: install a local model (\`switchboard models recommend\`) or add a provider to providers.yaml`,
      { retryable: false },
    );
  }
  return candidates;
}
