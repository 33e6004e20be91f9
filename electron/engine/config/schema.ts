import { z } from 'zod';
import { capabilitySchema } from '../contract/capabilities.ts';
import { OPERATIONAL_EVENT_NAMES } from '../contract/operations.ts';

/**
 * The file forms of the configuration, as people write them (snake_case, seconds). They are
 * normalised into EngineConfig (camelCase, milliseconds) by load.ts.
 */

export const STRATEGIES = [
  'fallback',
  'priority',
  'round_robin',
  'weighted_round_robin',
  'least_cost',
  'latency',
  'least_connections',
  'token_load',
  'capability',
  'sticky',
] as const;
export const strategySchema = z.enum(STRATEGIES, { error: `not a strategy: use one of ${STRATEGIES.join(', ')}` });
export type StrategyName = z.infer<typeof strategySchema>;

/** The seeds' other names for strategies. */
export const STRATEGY_ALIASES: Record<string, StrategyName> = {
  performance: 'latency',
  latency_based: 'latency',
  cost: 'least_cost',
  cost_optimized: 'least_cost',
  weighted: 'weighted_round_robin',
  least_busy: 'least_connections',
  least_connection: 'least_connections',
  token_based: 'token_load',
  capability_based: 'capability',
  user_sticky: 'sticky',
  per_user: 'sticky',
  load_balancing: 'round_robin',
};

/** A strategy by its name or by one of the seeds' names for it. */
export function strategyNamed(name: string): StrategyName | undefined {
  const value = name.trim().toLowerCase();
  const strategy = STRATEGY_ALIASES[value] ?? value;
  return (STRATEGIES as readonly string[]).includes(strategy) ? (strategy as StrategyName) : undefined;
}

const strategyField = z.preprocess(
  (value) => (typeof value === 'string' ? (strategyNamed(value) ?? value) : value),
  strategySchema,
);

const positive = (what: string) => z.number({ error: `${what} must be a number` }).positive(`${what} must be above 0`);
/** The longest busy-polling window (µs) the server takes: the waits it is for last a fraction of a millisecond. */
const MAX_BUSY_POLL_US = 100_000;
const nonNegative = (what: string) =>
  z.number({ error: `${what} must be a number` }).min(0, `${what} cannot be negative`);

// http and https only: a provider's requests carry its keys, and no other scheme is a provider API.
const urlField = z.url({
  protocol: /^https?$/,
  error: 'must be a full URL, http or https, such as https://api.example.com/v1',
});

export const priceSchema = z.object({ input: nonNegative('input price'), output: nonNegative('output price') });

/** HTTP statuses an upstream answers with, as Portkey's configs list them (`on_status_codes`). */
const statusCodes = z.array(
  z.number().int().min(400, 'a status code from 400 to 599').max(599, 'a status code from 400 to 599'),
);

/** Retries on the same provider: how many attempts, the backoff, and (optionally) which upstream statuses. */
const fileRetrySchema = z
  .object({
    max_attempts: z.number().int().min(1, 'max_attempts must be at least 1').optional(),
    backoff_factor: nonNegative('backoff_factor').optional(),
    on_status_codes: statusCodes.optional(),
  })
  .strict();

/** A provider's circuit breaker and health checks, and the providers that stand by when it is the one named. */
const fileProviderFailoverSchema = z
  .object({
    fallback_providers: z.array(z.string()).optional(),
    health_check_interval: nonNegative('health_check_interval (seconds)').optional(),
    max_failures: z.number().int().min(1, 'max_failures must be at least 1').optional(),
    recovery_timeout: positive('recovery_timeout (seconds)').optional(),
  })
  .strict();

/** The global failover block: the default chain, and the breaker and health-check defaults of every provider. */
const fileFailoverSchema = fileProviderFailoverSchema.extend({ primary: z.string().optional() }).strict();

export const fileProviderSchema = z
  .object({
    type: z.string().optional(),
    name: z.string().optional(),
    api_key: z.string().optional(),
    api_keys: z.array(z.string()).optional(),
    api_key_env: z.string().optional(),
    base_url: urlField.optional(),
    /** Azure OpenAI's name for the resource URL (https://NAME.openai.azure.com). */
    endpoint: urlField.optional(),
    models: z.array(z.string()).optional(),
    default_model: z.string().optional(),
    model: z.string().optional(),
    capabilities: z.array(capabilitySchema).optional(),
    priority: z.number().int().optional(),
    weight: nonNegative('weight').optional(),
    enabled: z.boolean().optional(),
    on_machine: z.boolean().optional(),
    rate_limit: z
      .object({
        requests_per_minute: nonNegative('requests_per_minute').optional(),
        tokens_per_minute: nonNegative('tokens_per_minute').optional(),
        max_concurrency: positive('max_concurrency').optional(),
        on_limit: z.enum(['queue', 'skip']).optional(),
        max_queue_ms: nonNegative('max_queue_ms').optional(),
      })
      .strict()
      .optional(),
    retry: fileRetrySchema.optional(),
    failover: fileProviderFailoverSchema.optional(),
    timeout: positive('timeout (seconds)').optional(),
    first_token_timeout: positive('first_token_timeout (seconds)').optional(),
    health_check_interval: nonNegative('health_check_interval (seconds)').optional(),
    prices: z.record(z.string(), priceSchema).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    api_version: z.string().optional(),
    deployments: z.record(z.string(), z.string()).optional(),
    /** Azure OpenAI: the one deployment this provider calls (its model unless `model:` names another). */
    deployment_name: z.string().optional(),
    context_windows: z.record(z.string(), positive('context window')).optional(),
  })
  .strict();
export type FileProvider = z.infer<typeof fileProviderSchema>;

export const fileProfileSchema = z
  .object({
    strategy: strategyField.optional(),
    provider: z.string().optional(),
    model: z.string().optional(),
    fallback_providers: z.array(z.string()).optional(),
    capability: capabilitySchema.optional(),
    description: z.string().optional(),
  })
  .strict();

const budgetLimitSchema = z
  .object({ daily: nonNegative('daily budget').optional(), monthly: nonNegative('monthly budget').optional() })
  .strict();

export const fileBudgetSchema = z
  .object({
    daily: nonNegative('daily budget').optional(),
    monthly: nonNegative('monthly budget').optional(),
    providers: z.record(z.string(), budgetLimitSchema).optional(),
    alert_threshold: z.number().gt(0).max(1, 'alert_threshold is a fraction between 0 and 1').optional(),
    hard_stop: z.enum(['off', 'local_only', 'refuse']).optional(),
  })
  .strict();

export const fileLocalSchema = z
  .object({
    enabled: z.boolean().optional(),
    priority: z.number().int().optional(),
    llm_model: z.string().optional(),
    whisper_model: z.string().optional(),
    embedding_model: z.string().optional(),
    quantization: z.enum(['4bit', '8bit', '16bit']).optional(),
    device: z.enum(['auto', 'cpu', 'cuda', 'vulkan', 'metal']).optional(),
    idle_unload: nonNegative('idle_unload (seconds)').optional(),
  })
  .strict();

/** `load_balancing:` as the seeds write it: on/off, a strategy name, or a block with weights per provider. */
export const fileLoadBalancingSchema = z.union([
  z.boolean(),
  strategyField,
  z
    .object({
      enabled: z.boolean().optional(),
      strategy: strategyField.optional(),
      weights: z.record(z.string(), nonNegative('weight')).optional(),
    })
    .strict(),
]);
export type FileLoadBalancing = z.infer<typeof fileLoadBalancingSchema>;

/** Settings of one model (keyed `provider/model`), applied to every request it answers. */
export const fileModelOptionsSchema = z
  .object({
    temperature: z.number().min(0).max(2, 'temperature is between 0 and 2').optional(),
    max_tokens: z.number().int().positive('max_tokens must be above 0').optional(),
    /** Put before every conversation that brings no system message of its own. */
    system_prompt: z.string().max(20_000).optional(),
    /** Tokens the model's context holds (models on this machine). */
    context: z.number().int().min(128, 'context must be at least 128 tokens').optional(),
    /** Layers offloaded to the GPU (models on this machine; 0: CPU only). */
    gpu_layers: z.number().int().min(0).optional(),
  })
  .strict();

/** providers.yaml (and the object form of providers.json). */
export const fileConfigSchema = z
  .object({
    cloud_fallback: z.boolean().optional(),
    /** When no provider can answer a chat, the built-in responder says so and how to get a model (on unless false). */
    fallback_responder: z.boolean().optional(),
    /** Meeting audio and meeting text may go to a cloud provider (off unless the user allows it). */
    meetings_cloud: z.boolean().optional(),
    local_only: z.boolean().optional(),
    strategy: strategyField.optional(),
    force_provider: z.string().optional(),
    timeout: positive('timeout (seconds)').optional(),
    retry_attempts: z.number().int().min(1).optional(),
    retry: fileRetrySchema.optional(),
    /** Which upstream statuses move a request on to the next candidate (the others go back to the client). */
    fallback: z.object({ on_status_codes: statusCodes.optional() }).strict().optional(),
    failover: fileFailoverSchema.optional(),
    load_balancing: fileLoadBalancingSchema.optional(),
    providers: z.union([z.record(z.string(), fileProviderSchema), z.array(fileProviderSchema)]).optional(),
    strategies: z.record(z.string(), fileProfileSchema).optional(),
    profiles: z.record(z.string(), fileProfileSchema).optional(),
    budgets: fileBudgetSchema.optional(),
    sticky: z
      .object({ rotation_window: positive('rotation_window (seconds)').optional() })
      .strict()
      .optional(),
    local: fileLocalSchema.optional(),
    /** Operational events posted to a webhook as they happen (breakers, keys, health, budgets, reloads). */
    alerts: z
      .object({
        webhook_url: urlField,
        /** Which events; absent: all of them. */
        events: z.array(z.enum(OPERATIONAL_EVENT_NAMES)).min(1).optional(),
        /** json: the event record as GET /api/events sends it; slack: {text}, what a Slack incoming webhook shows. */
        format: z.enum(['json', 'slack']).optional(),
      })
      .strict()
      .optional(),
    /**
     * How large a request the local API reads (MB): a larger one is refused with 413 as soon as that is
     * known; and how long (µs) the server keeps polling for a lone request's next step instead of sleeping.
     */
    server: z
      .object({
        max_json_body_mb: positive('max_json_body_mb').optional(),
        max_upload_mb: positive('max_upload_mb').optional(),
        busy_poll_us: nonNegative('busy_poll_us (microseconds; 0 turns busy polling off)')
          .max(MAX_BUSY_POLL_US, `busy_poll_us is at most ${MAX_BUSY_POLL_US} (microseconds)`)
          .optional(),
      })
      .strict()
      .optional(),
    /** Where routing keeps its state: in this process, or shared by every instance using one Redis. */
    state: z
      .object({
        redis_url: z
          .string()
          .regex(/^rediss?:\/\/[^\s]+$/, 'redis_url is a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379')
          .optional(),
      })
      .strict()
      .optional(),

    model_options: z.record(z.string(), fileModelOptionsSchema).optional(),
    manager: z
      .object({
        fallback_enabled: z.boolean().optional(),
        load_balancing: fileLoadBalancingSchema.optional(),
        strategy: strategyField.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type FileConfig = z.infer<typeof fileConfigSchema>;
