import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { environmentLayer } from './env-layer.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { interpolateEnv } from './interpolate.ts';
import { MAX_CONFIG_DEPTH, pathBeyondDepth } from './nesting.ts';
import { normalizeConfig } from './normalize.ts';
import { type FileConfig, type FileProvider, fileConfigSchema, fileProviderSchema } from './schema.ts';
import type { EngineConfig } from './types.ts';

export interface LoadOptions {
  /** providers.yaml / providers.yml / providers.json; absent means defaults + environment only. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Changes made through the engine API (settings toggles), applied last. */
  overrides?: FileConfig;
  /** Keys added in the app (kept encrypted in the store), by provider id; joined to the file's and environment's keys. */
  extraKeys?: Record<string, string[]>;
  /** Header values kept encrypted in the store, by provider id; they win over the file's. */
  extraHeaders?: Record<string, Record<string, string>>;
}

function issuesFromZod(error: z.ZodError, source: string, prefix: string[] = []): ConfigIssue[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path.map(String)].join('.');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys')
      message = `unknown setting ${issue.keys.map((k) => `"${k}"`).join(', ')}: check the spelling`;
    return { source, path, message };
  });
}

/** The seeds' providers.json form: a list of providers with api_key_env, plus a manager block. */
function fromJsonForm(raw: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(raw.providers)) return raw;
  const providers: Record<string, unknown> = {};
  raw.providers.forEach((entry, index) => {
    if (!entry || typeof entry !== 'object') return;
    const { name, api_key_env, ...rest } = entry as Record<string, unknown>;
    const id = typeof name === 'string' && name ? name : `provider_${index + 1}`;
    providers[id] = { ...rest, ...(typeof api_key_env === 'string' ? { api_key: `\${${api_key_env}}` } : {}) };
  });
  return { ...raw, providers };
}

const TOO_DEEP = `nested more than ${MAX_CONFIG_DEPTH} levels deep, far beyond any setting`;

export function parseConfigFile(file: string, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): FileConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    issues.push({
      source: file,
      path: '',
      message: `cannot read the configuration (${reason}): check --config / SWITCHBOARD_CONFIG`,
    });
    return {};
  }
  let raw: unknown;
  const format = extname(file).slice(1) || 'YAML';
  try {
    raw = format.toLowerCase() === 'json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    // The YAML parser recurses per level and reports a stack overflow as a parse error; say what it means.
    const message = (error as Error).message.replace(/^Maximum call stack size exceeded/, TOO_DEEP);
    issues.push({ source: file, path: '', message: `not valid ${format}: ${message}` });
    return {};
  }
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    issues.push({ source: file, path: '', message: 'the top level must be a mapping (providers:, strategies:, …)' });
    return {};
  }
  const deep = pathBeyondDepth(raw, MAX_CONFIG_DEPTH);
  if (deep) {
    issues.push({
      source: file,
      path: `${deep.slice(0, 3).join('.')}…`,
      message: `${TOO_DEEP}: remove the extra nesting`,
    });
    return {};
  }
  const interpolated = interpolateEnv(fromJsonForm(raw as Record<string, unknown>), env, file, issues);
  return validateLayer(interpolated, file, issues);
}

/**
 * Validates one layer. Each provider is checked on its own, so one bad provider neither hides the
 * problems of the others nor the checks that need a whole provider (type, key, URL).
 */
export function validateLayer(raw: unknown, source: string, issues: ConfigIssue[]): FileConfig {
  const { providers, ...rest } = (raw ?? {}) as Record<string, unknown>;
  const top = fileConfigSchema.safeParse(rest);
  if (!top.success) issues.push(...issuesFromZod(top.error, source));
  const layer: FileConfig = top.success ? top.data : {};
  if (providers === undefined) return layer;
  if (!providers || typeof providers !== 'object' || Array.isArray(providers)) {
    issues.push({ source, path: 'providers', message: 'providers must be a mapping of id → settings' });
    return layer;
  }
  const valid: Record<string, FileProvider> = {};
  for (const [id, entry] of Object.entries(providers)) {
    const parsed = fileProviderSchema.safeParse(entry ?? {});
    if (parsed.success) valid[id] = parsed.data;
    else issues.push(...issuesFromZod(parsed.error, source, ['providers', id]));
  }
  layer.providers = valid;
  return layer;
}

/** Reads a .env file beside the config (or in the data dir); the real environment wins. */
export function withDotEnv(env: NodeJS.ProcessEnv, dotEnvFile: string | undefined): NodeJS.ProcessEnv {
  if (!dotEnvFile) return env;
  try {
    return { ...parseEnv(readFileSync(dotEnvFile, 'utf8')), ...env };
  } catch {
    return env;
  }
}

function providerRecord(config: FileConfig): Record<string, FileProvider> {
  const providers = config.providers;
  if (!providers) return {};
  if (!Array.isArray(providers)) return providers;
  return Object.fromEntries(providers.map((p, i) => [p.name ?? `provider_${i + 1}`, p]));
}

/** Later layers win, key by key; providers and profiles merge by id. */
export function mergeLayers(layers: FileConfig[]): FileConfig & { providers: Record<string, FileProvider> } {
  const merged: FileConfig & { providers: Record<string, FileProvider> } = { providers: {} };
  for (const layer of layers) {
    const {
      providers: _providers,
      strategies,
      profiles,
      budgets,
      local,
      sticky,
      manager,
      model_options: modelOptions,
      ...scalars
    } = layer;
    Object.assign(merged, Object.fromEntries(Object.entries(scalars).filter(([, v]) => v !== undefined)));
    for (const [id, provider] of Object.entries(providerRecord(layer))) {
      const before = merged.providers[id] ?? {};
      merged.providers[id] = {
        ...before,
        ...provider,
        rate_limit: { ...before.rate_limit, ...provider.rate_limit },
        retry: { ...before.retry, ...provider.retry },
      };
    }
    for (const [name, profile] of Object.entries({ ...strategies, ...profiles })) {
      merged.profiles = { ...merged.profiles, [name]: { ...merged.profiles?.[name], ...profile } };
    }
    if (budgets)
      merged.budgets = {
        ...merged.budgets,
        ...budgets,
        providers: { ...merged.budgets?.providers, ...budgets.providers },
      };
    if (local) merged.local = { ...merged.local, ...local };
    if (sticky) merged.sticky = { ...merged.sticky, ...sticky };
    if (manager) merged.manager = { ...merged.manager, ...manager };
    for (const [model, options] of Object.entries(modelOptions ?? {})) {
      merged.model_options = { ...merged.model_options, [model]: { ...merged.model_options?.[model], ...options } };
    }
  }
  return merged;
}

/**
 * Builds the engine's configuration: defaults < providers.yaml|json < environment < overrides.
 * Throws ConfigError listing every problem at once.
 */
export function loadConfig(options: LoadOptions = {}): EngineConfig {
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const fileLayer = options.file ? parseConfigFile(options.file, env, issues) : {};
  const fileIds = Object.keys(providerRecord(fileLayer));
  const envLayer = validateLayer(environmentLayer(env, fileIds, issues), 'environment', issues);
  const overrides = validateLayer(options.overrides ?? {}, 'settings', issues);
  const merged = mergeLayers([fileLayer, envLayer, overrides]);
  for (const [id, keys] of Object.entries(options.extraKeys ?? {})) {
    const provider = merged.providers[id];
    if (!provider || keys.length === 0) continue;
    const existing = provider.api_keys ?? (provider.api_key ? [provider.api_key] : []);
    provider.api_keys = [...new Set([...existing, ...keys])];
    delete provider.api_key;
  }
  for (const [id, headers] of Object.entries(options.extraHeaders ?? {})) {
    const provider = merged.providers[id];
    if (provider) provider.headers = { ...provider.headers, ...headers };
  }
  const sources = new Map<string, string>();
  for (const id of fileIds) sources.set(id, options.file ?? 'file');
  for (const id of Object.keys(envLayer.providers ?? {})) if (!sources.has(id)) sources.set(id, 'environment');
  const config = normalizeConfig(merged, { sources, file: options.file ?? 'environment', issues });
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}
