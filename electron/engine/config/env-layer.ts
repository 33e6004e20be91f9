import type { ConfigIssue } from './errors.ts';
import { type FileConfig, type FileProvider, STRATEGIES, type StrategyName, strategyNamed } from './schema.ts';
import { VENDOR_NAMES, VENDORS } from './vendors.ts';

/** `my-groq` → `MY_GROQ`, the prefix of a provider's <NAME>_ENABLED / <NAME>_PRIORITY variables. */
export function envPrefix(providerId: string): string {
  return providerId.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

function booleanWord(raw: string): boolean | undefined {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  return undefined;
}

function parseBoolean(raw: string, name: string, issues: ConfigIssue[]): boolean | undefined {
  const value = booleanWord(raw);
  if (value === undefined) issues.push({ source: 'environment', path: name, message: `"${raw}" is not true or false` });
  return value;
}

function parseNumber(raw: string, name: string, issues: ConfigIssue[]): number | undefined {
  const value = Number(raw);
  if (raw.trim() !== '' && Number.isFinite(value)) return value;
  issues.push({ source: 'environment', path: name, message: `"${raw}" is not a number` });
  return undefined;
}

function parseStrategy(raw: string, name: string, issues: ConfigIssue[]): StrategyName | undefined {
  const strategy = strategyNamed(raw);
  if (!strategy)
    issues.push({
      source: 'environment',
      path: name,
      message: `"${raw}" is not a strategy: use one of ${STRATEGIES.join(', ')}`,
    });
  return strategy;
}

/** PROVIDER_LOAD_BALANCE: true (round robin), false (no balancing: fallback order), or a strategy's name. */
function parseLoadBalance(raw: string, issues: ConfigIssue[]): StrategyName | undefined {
  const on = booleanWord(raw);
  if (on !== undefined) return on ? 'round_robin' : 'fallback';
  return parseStrategy(raw, 'PROVIDER_LOAD_BALANCE', issues);
}

function splitKeys(raw: string): string[] {
  return raw
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean);
}

/**
 * The environment as one more config layer, in the same shape as providers.yaml, so every layer
 * is validated and merged the same way. `knownProviderIds` are the ids from the layers below, whose
 * <NAME>_ENABLED / <NAME>_PRIORITY variables apply.
 */
export function environmentLayer(
  env: NodeJS.ProcessEnv,
  knownProviderIds: string[],
  issues: ConfigIssue[],
): FileConfig {
  const providers: Record<string, FileProvider> = {};
  const provider = (id: string): FileProvider => {
    providers[id] ??= {};
    return providers[id];
  };
  const get = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  for (const vendor of VENDOR_NAMES) {
    const defaults = VENDORS[vendor];
    if (vendor === 'custom' || vendor === 'local') continue;
    const key = 'keyEnv' in defaults ? get(defaults.keyEnv) : undefined;
    const baseUrl = 'baseUrlEnv' in defaults ? get(defaults.baseUrlEnv) : undefined;
    // Keyed vendors appear when their key is set; keyless ones (Ollama) when their URL is.
    if (!key && !(baseUrl && !defaults.requiresKey)) {
      if (baseUrl && knownProviderIds.includes(vendor)) provider(vendor).base_url = baseUrl;
      continue;
    }
    const entry = provider(vendor);
    entry.type = vendor;
    if (key) {
      const keys = splitKeys(key);
      if (keys.length > 1) entry.api_keys = keys;
      else entry.api_key = keys[0];
    }
    if (baseUrl) entry.base_url = baseUrl;
    if (vendor === 'azure') entry.api_version = get('AZURE_OPENAI_API_VERSION') ?? '2024-10-21';
  }

  const customUrl = get('CUSTOM_PROVIDER_BASE_URL');
  if (customUrl) {
    const entry = provider(get('CUSTOM_PROVIDER_NAME') ?? 'custom');
    entry.type = 'custom';
    entry.base_url = customUrl;
    const key = get('CUSTOM_PROVIDER_API_KEY');
    if (key) entry.api_key = key;
    const model = get('CUSTOM_PROVIDER_MODEL');
    if (model) entry.default_model = model;
  }

  for (const id of new Set([...knownProviderIds, ...Object.keys(providers), 'local'])) {
    const prefix = envPrefix(id);
    const enabled = get(`${prefix}_ENABLED`);
    if (enabled !== undefined) {
      const value = parseBoolean(enabled, `${prefix}_ENABLED`, issues);
      if (value !== undefined) provider(id).enabled = value;
    }
    const priority = get(`${prefix}_PRIORITY`);
    if (priority !== undefined && id !== 'local') {
      const value = parseNumber(priority, `${prefix}_PRIORITY`, issues);
      if (value !== undefined) provider(id).priority = value;
    }
  }
  // The local provider is configured through the local section, not the providers map.
  const localEnabled = providers.local?.enabled;
  delete providers.local;

  const layer: FileConfig = {};
  if (Object.keys(providers).length > 0) layer.providers = providers;

  const cloud = get('CLOUD_FALLBACK');
  if (cloud !== undefined) layer.cloud_fallback = parseBoolean(cloud, 'CLOUD_FALLBACK', issues);
  const meetingsCloud = get('MEETINGS_CLOUD');
  if (meetingsCloud !== undefined) layer.meetings_cloud = parseBoolean(meetingsCloud, 'MEETINGS_CLOUD', issues);
  // PROVIDER_STRATEGY names the strategy outright; PROVIDER_LOAD_BALANCE only says whether to balance.
  const balance = get('PROVIDER_LOAD_BALANCE');
  if (balance) layer.strategy = parseLoadBalance(balance, issues);
  const strategy = get('PROVIDER_STRATEGY');
  if (strategy) layer.strategy = parseStrategy(strategy, 'PROVIDER_STRATEGY', issues);
  const force = get('FORCE_PROVIDER');
  if (force) layer.force_provider = force;
  const timeout = get('PROVIDER_TIMEOUT');
  if (timeout) layer.timeout = parseNumber(timeout, 'PROVIDER_TIMEOUT', issues);
  const attempts = get('PROVIDER_RETRY_ATTEMPTS');
  if (attempts) layer.retry_attempts = parseNumber(attempts, 'PROVIDER_RETRY_ATTEMPTS', issues);

  const primary = get('PRIMARY_PROVIDER');
  const chain = [get('SECONDARY_PROVIDER'), get('FALLBACK_PROVIDER')].filter((id): id is string => Boolean(id));
  if (primary || chain.length > 0) {
    layer.profiles = { default: { ...(primary ? { provider: primary } : {}), fallback_providers: chain } };
  }

  const redisUrl = get('SWITCHBOARD_REDIS_URL');
  if (redisUrl) layer.state = { redis_url: redisUrl };

  const local: NonNullable<FileConfig['local']> = {};
  const localFlag = get('LOCAL_MODELS_ENABLED');
  if (localFlag !== undefined) local.enabled = parseBoolean(localFlag, 'LOCAL_MODELS_ENABLED', issues);
  else if (localEnabled !== undefined) local.enabled = localEnabled;
  const localPriority = get('LOCAL_PRIORITY');
  if (localPriority !== undefined) local.priority = parseNumber(localPriority, 'LOCAL_PRIORITY', issues);
  const llm = get('LOCAL_LLM_MODEL');
  if (llm) local.llm_model = llm;
  const whisper = get('LOCAL_WHISPER_MODEL');
  if (whisper) local.whisper_model = whisper;
  const quantization = get('LOCAL_QUANTIZATION');
  if (quantization) (local as Record<string, unknown>).quantization = quantization;
  const device = get('LOCAL_DEVICE');
  if (device) (local as Record<string, unknown>).device = device;
  if (Object.keys(local).length > 0) layer.local = local;
  return layer;
}
