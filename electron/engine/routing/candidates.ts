import type { EngineConfig, EngineProvider, ProfileConfig } from '../config/types.ts';
import { embeddingModelOf } from '../config/vendors.ts';
import type { Capability } from '../contract/capabilities.ts';
import { SwitchboardError } from '../contract/errors.ts';
import type { ProviderAdapter } from '../providers/types.ts';
import { consentAllows, consentRequired } from './consent.ts';
import type { Candidate, RoutingRequest } from './types.ts';
import { isUsable, mayReach } from './usable.ts';

/** What a request names, once profile aliases and `provider/model` ids are untangled. */
export interface ResolvedTarget {
  profile: ProfileConfig;
  /** A provider the caller insists on (--provider, FORCE_PROVIDER): it alone answers. */
  providerId?: string;
  /**
   * A provider named in the model (`openai/gpt-4o-mini`): it answers whenever it can; the other
   * providers serving the same model stand by for its failures.
   */
  preferredId?: string;
  model?: string;
}

export function resolveTarget(config: EngineConfig, request: RoutingRequest): ResolvedTarget {
  let model = request.model?.trim() || undefined;
  let profile = config.profiles[request.profile ?? 'default'];
  if (!profile) {
    throw new SwitchboardError(
      'NOT_FOUND',
      `profile "${request.profile}" does not exist: use one of ${Object.keys(config.profiles).join(', ')}`,
      { retryable: false },
    );
  }
  if (model && config.profiles[model]) {
    profile = config.profiles[model]!;
    model = profile.model;
  }
  const providerId = request.providerId ?? config.forceProvider;
  let preferredId: string | undefined;
  if (model?.includes('/')) {
    const slash = model.indexOf('/');
    const prefix = model.slice(0, slash);
    if (config.providers.some((p) => p.id === prefix)) {
      if (request.providerId && request.providerId !== prefix) {
        throw new SwitchboardError(
          'INVALID_REQUEST',
          `model "${model}" names provider ${prefix} but --provider says ${request.providerId}`,
          { retryable: false },
        );
      }
      preferredId = prefix;
      model = model.slice(slash + 1);
    }
  }
  return { profile, providerId: preferredId ? undefined : providerId, preferredId, model };
}

/** Whether a provider serves a model id: configured, reported by its models endpoint, or an Azure deployment. */
function offers(
  provider: EngineProvider,
  model: string,
  knownModels: ReadonlyMap<string, ReadonlySet<string>>,
): boolean {
  return (
    provider.models.includes(model) ||
    Boolean(knownModels.get(provider.id)?.has(model)) ||
    Boolean(provider.azure?.deployments[model])
  );
}

const EMBEDDING_MODEL = /embed/i;

/**
 * The model a provider uses for a capability when the request names none: its default model, except
 * for embeddings, where a chat model would be the wrong thing to send — one of its models that embeds,
 * or its vendor's usual embedding model. Undefined: it has none for this capability.
 */
function defaultModelFor(provider: EngineProvider, capability: Capability, config: EngineConfig): string | undefined {
  if (capability !== 'embedding') return provider.defaultModel;
  if (provider.kind === 'local') return config.local.embeddingModel ?? provider.defaultModel;
  return provider.models.find((model) => EMBEDDING_MODEL.test(model)) ?? embeddingModelOf(provider.vendor);
}

/**
 * A request's candidates before any strategy orders them, and how many of the first keep their place:
 * a provider named in the model goes first, a profile's chain keeps its order; strategies order the rest.
 */
export interface CandidateSet {
  candidates: Candidate[];
  pinned: number;
}

function unavailable(
  config: EngineConfig,
  provider: EngineProvider,
  capability: Capability,
): SwitchboardError | undefined {
  if (!mayReach(config, provider)) {
    return new SwitchboardError(
      'CLOUD_DISABLED',
      config.localOnly
        ? `local-only mode is on, so nothing is sent to ${provider.label}: use a local model, or turn local-only mode off in Settings`
        : `cloud fallback is off, so nothing is sent to ${provider.label}: use a local model, or turn cloud fallback on in Settings (CLOUD_FALLBACK=true)`,
      { providerId: provider.id, retryable: false },
    );
  }
  if (!provider.enabled) {
    return new SwitchboardError(
      'NO_PROVIDER',
      `${provider.label} is disabled: enable it in Settings or with ${provider.id.toUpperCase()}_ENABLED=true`,
      { providerId: provider.id, retryable: false },
    );
  }
  if (!provider.capabilities.includes(capability)) {
    return new SwitchboardError('NOT_SUPPORTED', `${provider.label} does not offer ${capability}`, {
      providerId: provider.id,
      retryable: false,
    });
  }
  return undefined;
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
): CandidateSet {
  const { capability } = request;
  // A profile may ask for more than the request's own capability (code_generation, summarization…).
  const extra = target.profile.capability;
  // Consent is checked here, before any strategy sees a candidate: a refused provider is never tried.
  const usable = (p: EngineProvider) =>
    isUsable(config, p, adapters, capability) &&
    consentAllows(config, p, request) &&
    (!extra || p.capabilities.includes(extra));
  const candidate = (provider: EngineProvider, model: string | undefined): Candidate | undefined => {
    const chosen = model ?? request.modelFor?.(provider) ?? defaultModelFor(provider, capability, config);
    return chosen === undefined && capability === 'embedding'
      ? undefined
      : { provider, adapter: adapters.get(provider.id)!, model: chosen ?? '' };
  };
  const present = (c: Candidate | undefined): c is Candidate => c !== undefined;

  const named = target.providerId ?? target.preferredId;
  if (named) {
    const provider = config.providers.find((p) => p.id === named);
    if (!provider) {
      throw new SwitchboardError(
        'NO_PROVIDER',
        `provider "${named}" is not configured: see \`switchboard providers list\` (${config.providers.map((p) => p.id).join(', ')})`,
        { retryable: false },
      );
    }
    const refusal = unavailable(config, provider, capability);
    if (refusal) throw refusal;
    if (!consentAllows(config, provider, request)) throw consentRequired(provider, request);
    if (!adapters.has(provider.id)) {
      throw new SwitchboardError('NO_PROVIDER', `${provider.label} is not available in this process`, {
        providerId: provider.id,
        retryable: false,
      });
    }
    const model = target.model ?? (target.profile.provider === provider.id ? target.profile.model : undefined);
    const first = candidate(provider, model);
    if (!first) {
      throw new SwitchboardError(
        'NOT_SUPPORTED',
        `${provider.label} has no embedding model configured: name one (${provider.id}/<model>) or list it under its models in providers.yaml`,
        { providerId: provider.id, retryable: false },
      );
    }
    if (target.providerId) return { candidates: [first], pinned: 1 };
    // Who stands by: the named provider's own failover list first (the same model where they serve it,
    // else their own), then every other provider serving the model, by priority.
    const standby = provider.failover.fallbackProviders
      .map((id) => config.providers.find((p) => p.id === id))
      .filter((p): p is EngineProvider => p !== undefined && p.id !== provider.id && usable(p))
      .map((p) => candidate(p, offers(p, first.model, knownModels) ? first.model : undefined))
      .filter(present);
    const listed = new Set([provider.id, ...standby.map((c) => c.provider.id)]);
    const group = config.providers
      .filter((p) => !listed.has(p.id) && usable(p) && offers(p, first.model, knownModels))
      .sort((a, b) => a.priority - b.priority)
      .map((p) => candidate(p, first.model))
      .filter(present);
    return { candidates: [first, ...standby, ...group], pinned: 1 + standby.length };
  }

  const chain = [target.profile.provider, ...target.profile.fallbackProviders].filter((id): id is string =>
    Boolean(id),
  );
  let candidates: Candidate[];
  let pinned = 0;
  if (chain.length > 0) {
    candidates = chain
      .map((id) => config.providers.find((p) => p.id === id))
      .filter((p): p is EngineProvider => p !== undefined && usable(p))
      .map((p) => candidate(p, p.id === target.profile.provider ? (target.model ?? target.profile.model) : undefined))
      .filter(present);
    // A local model is the last resort of every chain unless the chain already has it.
    const local = config.providers.find((p) => p.kind === 'local' && usable(p) && !chain.includes(p.id));
    const last = local && config.fallbackEnabled ? candidate(local, undefined) : undefined;
    if (last) candidates.push(last);
    // The profile said what comes first and what stands by: strategies do not reorder a chain.
    pinned = candidates.length;
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
    candidates = offering.map((p) => candidate(p, model)).filter(present);
  }
  if (candidates.length === 0) {
    const cloudNote = config.cloudFallback ? '' : ' (cloud fallback is off, so only local providers count)';
    const need = extra ? `${capability} with ${extra}` : capability;
    const advice =
      capability === 'embedding'
        ? "name an embedding model (provider/model), or list one under a provider's models in providers.yaml"
        : 'install a local model (`switchboard models recommend`) or add a provider to providers.yaml';
    throw new SwitchboardError('NO_PROVIDER', `no enabled provider can do ${need}${cloudNote}: ${advice}`, {
      retryable: false,
    });
  }
  return { candidates, pinned };
}

/**
 * The cloud providers consent keeps from a meeting-data request: those it would go to if the user said
 * yes. Empty for chat, and where nothing but consent stands in the way of no one.
 */
export function heldBackByConsent(
  config: EngineConfig,
  adapters: ReadonlyMap<string, ProviderAdapter>,
  request: RoutingRequest,
  knownModels: ReadonlyMap<string, ReadonlySet<string>> = new Map(),
): EngineProvider[] {
  if ((request.dataKind ?? 'chat') === 'chat' || request.cloudConsent) return [];
  const consented = { ...request, cloudConsent: true };
  try {
    return resolveCandidates(config, adapters, consented, resolveTarget(config, consented), knownModels)
      .candidates.map((candidate) => candidate.provider)
      .filter((provider) => !consentAllows(config, provider, request));
  } catch {
    return [];
  }
}
