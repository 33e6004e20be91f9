import type { ConfigIssue } from './errors.ts';
import type { FileConfig, FileLoadBalancing, FileProvider, StrategyName } from './schema.ts';
import type {
  BodyLimits,
  EngineConfig,
  EngineProvider,
  FailoverSettings,
  LocalSettings,
  ProfileConfig,
} from './types.ts';
import { resolveVendor, VENDOR_NAMES, VENDORS, type Vendor } from './vendors.ts';

const SECOND = 1000;
const MB = 1024 * 1024;
/** A chat with a few images fits in 10 MB; an hour of compressed audio in 200 MB. */
export const DEFAULT_BODY_LIMITS: BodyLimits = { jsonBytes: 10 * MB, uploadBytes: 200 * MB };
/**
 * The server's busy-polling window: covers a loopback upstream's answer and a client's next request
 * (each about 0.1–0.3 ms away on the benchmark's host), at most about 1 ms of one core per lone request.
 */
export const DEFAULT_BUSY_POLL_MS = 0.5;
const DEFAULT_TIMEOUT_S = 60;
const DEFAULT_FIRST_TOKEN_TIMEOUT_S = 30;
const DEFAULT_RETRY_ATTEMPTS = 2;
const DEFAULT_HEALTH_INTERVAL_S = 60;
const DEFAULT_ROTATION_WINDOW_S = 3600;
const DEFAULT_MAX_FAILURES = 5;
const DEFAULT_RECOVERY_S = 30;

/**
 * A provider's breaker and stand-bys: its own failover block, else the global one, else the defaults.
 * A failure share of half the requests of a minute (at least 20 of them) opens a breaker too.
 */
export function failoverOf(own?: FileProvider['failover'], global?: FileConfig['failover']): FailoverSettings {
  return {
    maxFailures: own?.max_failures ?? global?.max_failures ?? DEFAULT_MAX_FAILURES,
    failureRate: 0.5,
    minRequests: 20,
    windowMs: 60 * SECOND,
    recoveryMs: (own?.recovery_timeout ?? global?.recovery_timeout ?? DEFAULT_RECOVERY_S) * SECOND,
    fallbackProviders: own?.fallback_providers ?? [],
  };
}
/** Cloud providers start after the local one (priority 0) in the order they were written. */
const FIRST_CLOUD_PRIORITY = 10;

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|::1)$/i;

export function isLoopbackUrl(url: string | undefined): boolean {
  if (!url) return false;
  try {
    return LOOPBACK.test(new URL(url).hostname);
  } catch {
    return false;
  }
}

interface NormalizeContext {
  sources: Map<string, string>;
  file: string;
  issues: ConfigIssue[];
}

interface LoadBalancing {
  strategy?: StrategyName;
  weights: Record<string, number>;
}

/** What a `load_balancing:` setting asks for: on (round robin, weighted when weights are given), off, or a strategy. */
function loadBalancingOf(raw: FileLoadBalancing | undefined): LoadBalancing {
  if (raw === undefined) return { weights: {} };
  if (typeof raw === 'boolean') return { strategy: raw ? 'round_robin' : 'fallback', weights: {} };
  if (typeof raw === 'string') return { strategy: raw, weights: {} };
  const weights = raw.weights ?? {};
  if (raw.enabled === false) return { strategy: 'fallback', weights };
  const balanced = Object.keys(weights).length > 0 ? 'weighted_round_robin' : 'round_robin';
  return { strategy: raw.strategy ?? balanced, weights };
}

function normalizeLocal(raw: FileConfig['local']): LocalSettings {
  return {
    enabled: raw?.enabled ?? true,
    priority: raw?.priority ?? 0,
    llmModel: raw?.llm_model,
    whisperModel: raw?.whisper_model,
    embeddingModel: raw?.embedding_model,
    quantization: raw?.quantization ?? '4bit',
    device: raw?.device ?? 'auto',
    idleUnloadMs: (raw?.idle_unload ?? 300) * SECOND,
  };
}

function normalizeProvider(
  id: string,
  raw: FileProvider,
  index: number,
  root: FileConfig & { weights: Record<string, number> },
  ctx: NormalizeContext,
): EngineProvider | undefined {
  const source = ctx.sources.get(id) ?? ctx.file;
  const issue = (path: string, message: string) => ctx.issues.push({ source, path: `providers.${id}${path}`, message });
  const vendor: Vendor | undefined = resolveVendor(raw.type ?? id);
  if (!vendor) {
    issue('.type', `unknown type "${raw.type ?? id}": use one of ${VENDOR_NAMES.join(', ')}`);
    return undefined;
  }
  const defaults = VENDORS[vendor];
  const enabled = raw.enabled ?? true;
  const keys = (raw.api_keys ?? (raw.api_key ? [raw.api_key] : [])).filter((key) => key.trim() !== '');
  if (!enabled) {
    // A switched-off provider may reference variables that are not set; that is not a problem yet.
    for (let i = ctx.issues.length - 1; i >= 0; i--) {
      if (ctx.issues[i]?.path.startsWith(`providers.${id}.`)) ctx.issues.splice(i, 1);
    }
  }
  if (enabled && defaults.requiresKey && keys.length === 0) {
    const variable = 'keyEnv' in defaults ? defaults.keyEnv : 'the key variable';
    issue('.api_key', `missing API key: set api_key: \${${variable}} (and export ${variable}), or enabled: false`);
  }
  if (vendor !== 'azure') {
    if (raw.endpoint) issue('.endpoint', `endpoint is Azure OpenAI's setting: for type ${vendor} write base_url`);
    if (raw.deployment_name)
      issue('.deployment_name', `deployment_name is Azure OpenAI's setting: remove it, or set type: azure_openai`);
  }
  if (raw.endpoint && raw.base_url && raw.endpoint !== raw.base_url)
    issue('.endpoint', 'endpoint and base_url name different addresses: keep one of them');
  const baseUrl = raw.base_url ?? raw.endpoint ?? ('baseUrl' in defaults ? defaults.baseUrl : undefined);
  if (!baseUrl && defaults.kind !== 'local')
    issue(
      vendor === 'azure' ? '.endpoint' : '.base_url',
      `${vendor === 'azure' ? 'endpoint' : 'base_url'} is required for type ${vendor}`,
    );
  const timeoutS = raw.timeout ?? root.timeout ?? DEFAULT_TIMEOUT_S;
  const models = raw.models ?? [];
  // An Azure deployment named without a model is called by its own name.
  const defaultModel =
    raw.default_model ??
    raw.model ??
    models[0] ??
    raw.deployment_name ??
    ('defaultModel' in defaults ? defaults.defaultModel : undefined);
  const limit = raw.rate_limit ?? {};
  return {
    id,
    kind: defaults.kind,
    vendor,
    label: raw.name ?? (id === vendor ? defaults.label : `${defaults.label} (${id})`),
    baseUrl,
    keys,
    models: defaultModel && !models.includes(defaultModel) ? [defaultModel, ...models] : models,
    defaultModel,
    capabilities: raw.capabilities ?? [...defaults.capabilities],
    priority: raw.priority ?? FIRST_CLOUD_PRIORITY + index,
    weight: raw.weight ?? root.weights[id] ?? 1,
    enabled,
    limits: {
      rpm: limit.requests_per_minute,
      tpm: limit.tokens_per_minute,
      concurrency: limit.max_concurrency,
      onLimit: limit.on_limit ?? 'queue',
      maxQueueMs: limit.max_queue_ms ?? 2000,
    },
    retry: {
      attempts: raw.retry?.max_attempts ?? root.retry?.max_attempts ?? root.retry_attempts ?? DEFAULT_RETRY_ATTEMPTS,
      backoffFactor: raw.retry?.backoff_factor ?? root.retry?.backoff_factor ?? 0.5,
    },
    retryOnStatus: raw.retry?.on_status_codes ?? root.retry?.on_status_codes,
    failover: failoverOf(raw.failover, root.failover),
    timeoutMs: timeoutS * SECOND,
    firstTokenTimeoutMs: Math.min(raw.first_token_timeout ?? DEFAULT_FIRST_TOKEN_TIMEOUT_S, timeoutS) * SECOND,
    prices: Object.fromEntries(
      Object.entries(raw.prices ?? {}).map(([model, p]) => [model, { inputPerMTok: p.input, outputPerMTok: p.output }]),
    ),
    headers: raw.headers ?? {},
    azure:
      vendor === 'azure'
        ? {
            apiVersion: raw.api_version ?? '2024-10-21',
            deployments: {
              ...(raw.deployment_name && defaultModel ? { [defaultModel]: raw.deployment_name } : {}),
              ...raw.deployments,
            },
          }
        : undefined,
    contextWindows: raw.context_windows ?? {},
    healthCheckIntervalMs:
      (raw.health_check_interval ??
        raw.failover?.health_check_interval ??
        root.failover?.health_check_interval ??
        DEFAULT_HEALTH_INTERVAL_S) * SECOND,
    onMachine: raw.on_machine ?? (vendor === 'ollama' && isLoopbackUrl(baseUrl)),
    source,
  };
}

function localProvider(local: LocalSettings, root: FileConfig): EngineProvider {
  const defaults = VENDORS.local;
  return {
    id: 'local',
    kind: 'local',
    vendor: 'local',
    label: defaults.label,
    keys: [],
    models: local.llmModel ? [local.llmModel] : [],
    defaultModel: local.llmModel,
    capabilities: [...defaults.capabilities],
    priority: local.priority,
    weight: 1,
    enabled: local.enabled,
    // One model runs at a time per sequence; more would only queue inside llama.cpp.
    limits: { concurrency: 4, onLimit: 'queue', maxQueueMs: 60_000 },
    retry: { attempts: 1, backoffFactor: 0 },
    timeoutMs: 10 * 60 * SECOND,
    firstTokenTimeoutMs: 2 * 60 * SECOND,
    prices: {},
    headers: {},
    contextWindows: {},
    healthCheckIntervalMs: 0,
    onMachine: true,
    source: 'built-in',
    failover: failoverOf(undefined, root.failover),
  };
}

function normalizeProfiles(
  raw: FileConfig,
  providerIds: Set<string>,
  ctx: NormalizeContext,
): Record<string, ProfileConfig> {
  const profiles: Record<string, ProfileConfig> = {};
  for (const [name, profile] of Object.entries(raw.profiles ?? {})) {
    for (const id of [profile.provider, ...(profile.fallback_providers ?? [])]) {
      if (id && !providerIds.has(id)) {
        ctx.issues.push({
          source: ctx.file,
          path: `strategies.${name}`,
          message: `names provider "${id}", which is not configured: add it under providers: or fix the name (${[...providerIds].join(', ') || 'none configured'})`,
        });
      }
    }
    profiles[name] = {
      name,
      strategy: profile.strategy,
      provider: profile.provider,
      model: profile.model,
      fallbackProviders: profile.fallback_providers ?? [],
      capability: profile.capability,
      description: profile.description,
    };
  }
  // The global failover block names the default chain, where no default profile does.
  const { primary, fallback_providers: standby = [] } = raw.failover ?? {};
  for (const [path, ids] of [
    ['failover', [primary, ...standby]],
    ...Object.entries(raw.providers ?? {}).map(([id, p]) => [
      `providers.${id}.failover`,
      p.failover?.fallback_providers ?? [],
    ]),
  ] as [string, (string | undefined)[]][]) {
    for (const id of ids) {
      if (id && !providerIds.has(id)) {
        ctx.issues.push({
          source: ctx.file,
          path,
          message: `names provider "${id}", which is not configured: add it under providers: or fix the name (${[...providerIds].join(', ') || 'none configured'})`,
        });
      }
    }
  }
  if (primary || standby.length > 0)
    profiles.default ??= { name: 'default', provider: primary, fallbackProviders: standby };
  profiles.default ??= { name: 'default', fallbackProviders: [] };
  profiles.summarize ??= { name: 'summarize', capability: 'summarization', fallbackProviders: [] };
  // What the app's chat asks when "Answer with" is left on automatic: the default routing unless a
  // default chat model was chosen.
  profiles.chat ??= { ...profiles.default, name: 'chat' };
  return profiles;
}

export function normalizeConfig(
  raw: FileConfig & { providers: Record<string, FileProvider> },
  ctx: NormalizeContext,
): EngineConfig {
  const local = normalizeLocal(raw.local);
  const balancing = loadBalancingOf(raw.load_balancing);
  const seedsBalancing = loadBalancingOf(raw.manager?.load_balancing);
  const weights = { ...seedsBalancing.weights, ...balancing.weights };
  const providers: EngineProvider[] = [localProvider(local, raw)];
  Object.entries(raw.providers).forEach(([id, provider], index) => {
    if (id === 'local') {
      ctx.issues.push({
        source: ctx.file,
        path: 'providers.local',
        message: 'the local provider is set under local:, not providers:',
      });
      return;
    }
    const normalized = normalizeProvider(id, provider, index, { ...raw, weights }, ctx);
    if (normalized) providers.push(normalized);
  });
  const ids = new Set(providers.map((p) => p.id));
  if (raw.force_provider && !ids.has(raw.force_provider)) {
    ctx.issues.push({
      source: ctx.file,
      path: 'force_provider',
      message: `provider "${raw.force_provider}" is not configured`,
    });
  }
  for (const id of Object.keys(weights)) {
    if (!ids.has(id))
      ctx.issues.push({
        source: ctx.file,
        path: `load_balancing.weights.${id}`,
        message: `provider "${id}" is not configured: add it under providers: or fix the name`,
      });
  }
  const strategy = raw.strategy ?? balancing.strategy ?? raw.manager?.strategy ?? seedsBalancing.strategy ?? 'fallback';
  return {
    cloudFallback: raw.cloud_fallback ?? true,
    meetingsCloud: raw.meetings_cloud ?? false,
    localOnly: raw.local_only ?? false,
    fallbackEnabled: raw.manager?.fallback_enabled ?? true,
    fallbackResponder: raw.fallback_responder ?? true,
    fallbackOnStatus: raw.fallback?.on_status_codes,
    strategy,
    forceProvider: raw.force_provider,
    providers,
    profiles: normalizeProfiles(raw, ids, ctx),
    budgets: {
      global: { daily: raw.budgets?.daily, monthly: raw.budgets?.monthly },
      providers: raw.budgets?.providers ?? {},
      alertThreshold: raw.budgets?.alert_threshold ?? 0.8,
      hardStop: raw.budgets?.hard_stop ?? 'off',
    },
    sticky: { rotationWindowMs: (raw.sticky?.rotation_window ?? DEFAULT_ROTATION_WINDOW_S) * SECOND },
    local,
    alerts: raw.alerts && {
      webhookUrl: raw.alerts.webhook_url,
      events: raw.alerts.events,
      format: raw.alerts.format ?? 'json',
    },
    state: { redisUrl: raw.state?.redis_url },
    bodyLimits: {
      jsonBytes: raw.server?.max_json_body_mb
        ? Math.round(raw.server.max_json_body_mb * MB)
        : DEFAULT_BODY_LIMITS.jsonBytes,
      uploadBytes: raw.server?.max_upload_mb
        ? Math.round(raw.server.max_upload_mb * MB)
        : DEFAULT_BODY_LIMITS.uploadBytes,
    },
    busyPollMs: raw.server?.busy_poll_us === undefined ? DEFAULT_BUSY_POLL_MS : raw.server.busy_poll_us / 1000,
    modelOptions: Object.fromEntries(
      Object.entries(raw.model_options ?? {}).map(([model, o]) => [
        model,
        {
          temperature: o.temperature,
          maxTokens: o.max_tokens,
          systemPrompt: o.system_prompt,
          contextTokens: o.context,
          gpuLayers: o.gpu_layers,
        },
      ]),
    ),
  };
}
