import { EventEmitter } from 'node:events';
import { countMessageTokens } from './accounting/tokens.ts';
import type { UsageEvent } from './accounting/types.ts';
import { ConfigError } from './config/errors.ts';
import type { FileConfig, FileProvider } from './config/schema.ts';
import type { ConfigSource } from './config/source.ts';
import type { EngineConfig, EngineProvider } from './config/types.ts';
import { resolveVendor, transcriptionModelOf } from './config/vendors.ts';
import type { AppKey, DefaultModelJob, MayLeave, ModelOptions, ProviderView } from './contract/api.ts';
import type { ChatRequest } from './contract/chat.ts';
import type { EmbeddingRequest, EmbeddingResult } from './contract/embeddings.ts';
import { maskKey, SwitchboardError, toSwitchboardError } from './contract/errors.ts';
import type { ModelInfo } from './contract/models.ts';
import { OPERATIONAL_EVENT_NAMES, type OperationalEventName } from './contract/operations.ts';
import type { TranscriptionEvent, TranscriptionRequest } from './contract/transcription.ts';
import type { StateStatus } from './core/state.ts';
import { sameConnection } from './providers/create-adapter.ts';
import type { OllamaAdapter, PullProgress as OllamaPullProgress } from './providers/ollama/adapter.ts';
import type { CallContext, ModelMeasure, ModerationResult, ProviderAdapter, WireChunk } from './providers/types.ts';
import { Reports } from './reports/reports.ts';
import { lastResortAnswers, lastResortEvents, lastResortRoute, lastResortUsage } from './responder/last-resort.ts';
import { heldBackByConsent } from './routing/candidates.ts';
import { type ConsentRequest, consentRequired } from './routing/consent.ts';
import type { OperationalEvents } from './routing/events.ts';
import type { ProviderHealth } from './routing/health.ts';
import { chatOperation, relayOperation, type WireRequest } from './routing/operations.ts';
import { Router, type RouterOptions } from './routing/router.ts';
import type { StickyStatistics } from './routing/sticky.ts';
import type { Candidate, Operation, RoutedChatEvent, RoutedEvent, RouteInfo, RoutingRequest } from './routing/types.ts';
import { isUsable } from './routing/usable.ts';

/** What callers (CLI, HTTP, IPC) say besides the request itself. */
export interface RequestOptions extends ConsentRequest {
  providerId?: string;
  profile?: string;
  userId?: string;
  /** The app key the request came with (the HTTP API): its limits, budgets and models apply. */
  appKey?: AppKey;
  signal?: AbortSignal;
  /** The API endpoint the request came in on (`/v1/chat/completions`), for traces. */
  route?: string;
  /** The caller's W3C Trace Context headers (the HTTP API): the request's span joins the caller's trace. */
  traceHeaders?: RoutingRequest['traceHeaders'];
  /** Told each routed request's usage event (provider, model, key, tokens, cost) once it is settled. */
  onSettled?: RoutingRequest['onSettled'];
}

export type EngineChatEvent = RoutedChatEvent;
export type { ProviderView, RouteInfo };
export type EngineTranscriptionEvent = { type: 'route'; route: RouteInfo } | TranscriptionEvent;

export interface EngineStatus {
  cloudFallback: boolean;
  meetingsCloud: boolean;
  /** What can leave this machine now: nothing, chat, or chat and meetings. */
  mayLeave: MayLeave;
  /** How stored keys are protected, in words. */
  keyProtection: string;
  strategy: string;
  providers: number;
  localOnly: boolean;
  configFile?: string;
  configError?: string;
  note?: string;
  /** Where routing keeps limits, budgets, breakers and pins: this process, or a Redis shared with other instances. */
  state: StateStatus;
}

interface EngineEvents extends OperationalEvents {
  config: [EngineConfig];
  'config-error': [ConfigError];
  /** Every routed request's usage event once it is settled (the desktop app logs them). */
  usage: [UsageEvent];
}

/**
 * Keys and header values given in the app, the HTTP API or the CLI, kept encrypted (the store's secrets);
 * the engine never writes them anywhere else.
 */
export interface KeyVault {
  list(providerId: string): string[];
  add(providerId: string, key: string): void;
  remove(providerId: string, key: string): void;
  headers(providerId: string): Record<string, string>;
  setHeader(providerId: string, name: string, value: string): void;
  /** Forgets every key and header stored for the provider. */
  clear(providerId: string): void;
  /** How the stored keys are protected, in words. */
  readonly protection: string;
}

export type AdapterFactory = (provider: EngineProvider) => ProviderAdapter;

export interface EngineOptions {
  /** Where keys added in the app are kept (the store's encrypted secrets). */
  vault?: KeyVault;
  /** Where usage events go (the store, which also answers history and spend); default: in memory. */
  usage?: RouterOptions['sink'];
  /** Routing's clock, state backend and tuning; defaults suit the app. */
  routing?: Pick<RouterOptions, 'clock' | 'state' | 'backoff' | 'strategy' | 'watchers'>;
}

/** Pinning users to providers: the sticky strategy's per-user assignments. */
export interface StickyControls {
  forceProvider(userId: string, providerId: string): void;
  clearUser(userId: string): void;
  forceRotation(): void;
  assignment(userId: string): string | undefined;
  statistics(): StickyStatistics;
}

/** The Engine's own operational events; the router emits the others and the Engine re-emits them as they are. */
type EngineOwnEvent = 'config.reloaded' | 'config.rejected' | 'state.changed';
const ENGINE_OWN_EVENTS: readonly OperationalEventName[] = ['config.reloaded', 'config.rejected', 'state.changed'];
const FORWARDED = OPERATIONAL_EVENT_NAMES.filter(
  (name): name is Exclude<OperationalEventName, EngineOwnEvent> => !ENGINE_OWN_EVENTS.includes(name),
);

const HEALTH_TIMEOUT_MS = 10_000;
/** OpenAI's current moderation model, what its API uses when a request names none. */
const DEFAULT_MODERATION_MODEL = 'omni-moderation-latest';
/** What a cloud model of unknown size is taken to hold: small enough for nearly every chat model. */
const UNKNOWN_CONTEXT_TOKENS = 8_192;

export interface ChatTarget extends ModelMeasure {
  providerId: string;
  model: string;
  /** False when the window is a guess (UNKNOWN_CONTEXT_TOKENS): the model is in no catalog. */
  contextKnown: boolean;
}
const LOCAL_MODELS_TTL_MS = 30_000;

/**
 * What every routed request keeps of who sent it and how: the app key (its limits, budgets and models apply
 * to every kind of request), and for traces and the request log line the route, trace headers and usage.
 */
function callerOf(options: RequestOptions): Pick<RoutingRequest, 'appKey' | 'route' | 'traceHeaders' | 'onSettled'> {
  return {
    appKey: options.appKey,
    route: options.route,
    traceHeaders: options.traceHeaders,
    onSettled: options.onSettled,
  };
}

function estimatePromptTokens(messages: ChatRequest['messages']): number {
  // About four characters a token: good enough for routing (context windows, TPM), never billed.
  let characters = 0;
  for (const message of messages) {
    if (typeof message.content === 'string') characters += message.content.length;
    else for (const part of message.content ?? []) if (part.type === 'text') characters += part.text.length;
  }
  return Math.ceil(characters / 4) + messages.length * 4;
}

/** A provider id made from a name ("My Groq" → my-groq), with -2, -3, … where it is taken. */
function freeId(name: string, taken: Set<string>): string {
  const base =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'provider';
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  return id;
}

/**
 * The provider manager's one front door. Every request of the app, the CLI, the HTTP API and the
 * desktop main process comes through here; it owns the configuration, the adapters and the router
 * (which nothing outside the engine reaches), and hands out the reports that read its state.
 */
export class Engine extends EventEmitter<EngineEvents> {
  readonly source: ConfigSource;
  private readonly createAdapter: AdapterFactory;
  private adapters = new Map<string, ProviderAdapter>();
  private readonly router: Router;
  /** Statistics, spending, budgets, comparisons: read from the routing state. */
  readonly reports: Reports;
  /** Models each on-machine provider has installed, so bare ids (`stories260K`) find their provider. */
  private readonly knownModels = new Map<string, Set<string>>();
  private installed: ModelInfo[] = [];
  private installedAt = 0;
  private refreshing?: Promise<void>;

  private readonly vault?: KeyVault;

  constructor(source: ConfigSource, createAdapter: AdapterFactory, options: EngineOptions = {}) {
    super();
    this.source = source;
    this.vault = options.vault;
    this.createAdapter = createAdapter;
    this.rebuildAdapters(source.current);
    this.router = new Router(this.effective(source.current), this.adapters, {
      ...options.routing,
      sink: options.usage,
      knownModels: this.knownModels,
    });
    for (const name of FORWARDED) {
      this.router.on(name, (...args: unknown[]) =>
        (this.emit as (event: string, ...a: unknown[]) => boolean)(name, ...args),
      );
    }
    this.router.on('usage', (event) => this.emit('usage', event));
    this.reports = new Reports(this.router, (request, requestOptions) => this.chat(request, requestOptions));
    source.on('change', (config, file) => {
      this.rebuildAdapters(config);
      this.installedAt = 0;
      this.router.configure(this.effective(config), this.adapters);
      this.emit('config', config);
      this.emit('config.reloaded', { file: file ?? source.file });
    });
    source.on('error', (error, file) => {
      this.emit('config-error', error);
      this.emit('config.rejected', { file: file ?? source.file, message: error.message });
    });
  }

  get config(): EngineConfig {
    return this.source.current;
  }

  /**
   * The configuration as routing sees it: a local provider with no model named uses the first
   * installed chat model, so a fresh install answers as soon as one model is there; and once the
   * installed models are known, it offers only what they can do — no chat model, no chat (it would
   * only fail every request first), no Whisper model, no transcription.
   */
  private effective(config: EngineConfig): EngineConfig {
    const known = this.installedAt > 0;
    const ids = (capability: string) =>
      this.installed.filter((m) => m.capabilities?.includes(capability as never)).map((m) => m.id);
    const chatModels = ids('chat');
    const local = config.local;
    return {
      ...config,
      providers: config.providers.map((p) => {
        if (p.kind !== 'local') return p;
        const defaultModel = p.defaultModel ?? chatModels[0];
        const can = (capability: string) =>
          capability === 'transcription'
            ? ids('transcription').length > 0 || Boolean(local.whisperModel)
            : capability === 'embedding'
              ? Boolean(defaultModel ?? local.embeddingModel)
              : Boolean(defaultModel);
        return {
          ...p,
          defaultModel,
          models: [...new Set([...p.models, ...chatModels])],
          capabilities: known ? p.capabilities.filter(can) : p.capabilities,
        };
      }),
    };
  }

  /** Whether the installed models were read longer than LOCAL_MODELS_TTL_MS ago. */
  private localModelsStale(): boolean {
    return Date.now() - this.installedAt >= LOCAL_MODELS_TTL_MS;
  }

  /** Reads which models are installed on this machine (cached briefly; call after a pull, import or delete). */
  async refreshLocalModels(force = true): Promise<void> {
    if (!force && !this.localModelsStale()) return;
    this.refreshing ??= (async () => {
      const lists = await Promise.all(
        this.config.providers
          .filter((p) => p.onMachine && p.enabled && this.adapters.has(p.id))
          .map(async (p) => {
            const models = await this.adapters
              .get(p.id)!
              .listModels({ signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) })
              .catch(() => [] as ModelInfo[]);
            this.knownModels.set(p.id, new Set(models.map((m) => m.id)));
            return p.kind === 'local' ? models : [];
          }),
      );
      this.installed = lists.flat();
      this.installedAt = Date.now();
      this.router.configure(this.effective(this.config), this.adapters);
    })().finally(() => {
      this.refreshing = undefined;
    });
    await this.refreshing;
  }

  private rebuildAdapters(config: EngineConfig): void {
    const next = new Map<string, ProviderAdapter>();
    for (const provider of config.providers) {
      const existing = this.adapters.get(provider.id);
      // Keep adapters whose connection did not change: they may hold loaded models or sockets.
      if (existing && sameConnection(existing.config, provider)) next.set(provider.id, existing);
      else {
        void existing?.close?.();
        next.set(provider.id, this.createAdapter(provider));
      }
    }
    for (const [id, adapter] of this.adapters) if (!next.has(id)) void adapter.close?.();
    this.adapters = next;
  }

  /**
   * The settings of the model a candidate names (set in the app, the CLI or providers.yaml): every chat,
   * whichever front it came through, takes them where its request leaves them open.
   */
  private readonly modelOptionsOf = (candidate: Candidate): ModelOptions | undefined =>
    this.config.modelOptions?.[`${candidate.provider.id}/${candidate.model}`];

  chat(request: ChatRequest, options: RequestOptions = {}): AsyncIterable<EngineChatEvent> {
    return this.routeChat(request, chatOperation(request, this.modelOptionsOf), options);
  }

  /**
   * A chat that arrived in a client protocol (OpenAI's or Anthropic's API) with its body as written: an
   * upstream that speaks the same protocol is sent those bytes and its answer comes back as bytes (wire
   * chunks); any other candidate answers through translation, as `chat` does.
   */
  relayChat(
    request: ChatRequest,
    wire: WireRequest,
    options: RequestOptions = {},
  ): AsyncIterable<EngineChatEvent | WireChunk> {
    return this.routeChat(request, relayOperation(request, wire, this.modelOptionsOf), options);
  }

  private async *routeChat<T>(
    request: ChatRequest,
    operation: Operation<T>,
    options: RequestOptions,
  ): AsyncIterable<{ type: 'route'; route: RouteInfo } | T> {
    const started = Date.now();
    // Awaited only when due: a chat's path waits for no microtask while the list is fresh.
    if (this.localModelsStale()) await this.refreshLocalModels();
    const signal = options.signal ?? new AbortController().signal;
    const routing: RoutingRequest = {
      capability: 'chat',
      model: request.model,
      providerId: options.providerId,
      profile: options.profile,
      userId: options.userId ?? request.user,
      ...callerOf(options),
      estimatedInputTokens: estimatePromptTokens(request.messages),
      maxOutputTokens: request.max_tokens,
      collected: request.stream === false,
      dataKind: options.dataKind,
      cloudConsent: options.cloudConsent,
    };
    let routed = false;
    try {
      for await (const event of this.withConsent(routing, () => this.router.run(routing, operation, signal))) {
        if ((event as { type?: string }).type === 'route') routed = true;
        yield event;
      }
    } catch (error) {
      // A provider the caller insisted on (comparisons, batches, --provider) reports its own failure.
      const failure = toSwitchboardError(error);
      if (routed || options.providerId || !this.config.fallbackResponder || !lastResortAnswers(failure)) throw failure;
      const route = lastResortRoute(options.profile, this.config.strategy, failure.attempts?.length ?? 0);
      // Accounted as a fallback and a routed request are; the request log line (serve's, the desktop's) says
      // who answered and why.
      const usage = lastResortUsage(route, failure.code, started, {
        userId: routing.userId,
        appKeyId: routing.appKey?.id,
      });
      options.onSettled?.(usage);
      this.router.recordLastResort(usage, failure.attempts?.at(-1)?.providerId ?? 'none', failure.code);
      yield { type: 'route', route };
      // Both operations routeChat runs (chat, relay) take chat events.
      yield* lastResortEvents(request.messages, failure.message) as T[];
    }
  }

  /**
   * Runs a routed operation. When meeting data fails on this machine (or finds no local model) and a cloud
   * provider could have taken it but for the user's consent, the failure becomes CONSENT_REQUIRED naming
   * that provider and the setting, so the app can ask and the CLI and API can say how to allow it.
   */
  private async *withConsent<T>(
    request: RoutingRequest,
    run: () => AsyncIterable<RoutedEvent<T>>,
  ): AsyncIterable<{ type: 'route'; route: RouteInfo } | T> {
    let produced = false;
    try {
      for await (const event of run()) {
        if (event.type === 'route') yield event;
        else {
          produced = true;
          yield event.data;
        }
      }
    } catch (error) {
      const failure = toSwitchboardError(error);
      if (produced || failure.code === 'CANCELLED' || failure.code === 'CONSENT_REQUIRED') throw failure;
      const [cloud] = heldBackByConsent(this.effective(this.config), this.adapters, request, this.knownModels);
      if (!cloud) throw failure;
      // One local attempt's own reason reads better than the router's "no provider could answer — …".
      const local = failure.attempts?.length === 1 ? failure.attempts[0]!.message : failure.detail;
      throw consentRequired(cloud, request, failure.code === 'NO_PROVIDER' ? undefined : local);
    }
  }

  /**
   * Where a chat would go now and what that model holds: the context as loaded where it runs (a local
   * model), else as configured (context_windows) or catalogued; a prompt's length by the model's own
   * tokenizer where it runs here, else estimated. Callers that must fit a prompt (summaries) pin their
   * requests to this provider and model, so the limits they measured are those of the model that answers.
   */
  async chatTarget(request: Pick<ChatRequest, 'model'>, options: RequestOptions = {}): Promise<ChatTarget> {
    await this.refreshLocalModels(false);
    const routing: RoutingRequest = {
      capability: 'chat',
      model: request.model,
      providerId: options.providerId,
      profile: options.profile,
      userId: options.userId,
      appKey: options.appKey,
      estimatedInputTokens: 0,
      dataKind: options.dataKind,
      cloudConsent: options.cloudConsent,
    };
    let first: Candidate | undefined;
    try {
      [first] = await this.router.plan(routing);
    } catch (error) {
      // Nothing on this machine can take meeting text, and a cloud provider could with consent: say so.
      const [cloud] = heldBackByConsent(this.effective(this.config), this.adapters, routing, this.knownModels);
      throw cloud ? consentRequired(cloud, routing) : error;
    }
    if (!first) throw new SwitchboardError('NO_PROVIDER', 'no provider can answer a chat now', { retryable: false });
    const target = { providerId: first.provider.id, model: first.model };
    const measured = await first.adapter.measure?.(first.model, options.signal ?? new AbortController().signal);
    if (measured) return { ...target, ...measured, contextKnown: true };
    const window = this.router.contextWindow(first.provider, first.model);
    return {
      ...target,
      contextTokens: window ?? UNKNOWN_CONTEXT_TOKENS,
      contextKnown: window !== undefined,
      promptTokens: async (messages) => countMessageTokens(messages),
    };
  }

  async embed(
    request: EmbeddingRequest,
    options: RequestOptions = {},
  ): Promise<EmbeddingResult & { route: RouteInfo }> {
    await this.refreshLocalModels(false);
    const inputs = Array.isArray(request.input) ? request.input : [request.input];
    let route: RouteInfo | undefined;
    for await (const event of this.router.run(
      {
        capability: 'embedding',
        model: request.model,
        providerId: options.providerId,
        profile: options.profile,
        userId: options.userId ?? request.user,
        ...callerOf(options),
        estimatedInputTokens: Math.ceil(inputs.join(' ').length / 4),
      },
      {
        kind: 'embedding',
        invoke: async function* (candidate, ctx) {
          if (!candidate.adapter.embed) {
            throw new SwitchboardError('NOT_SUPPORTED', `${candidate.provider.label} has no embeddings`, {
              retryable: false,
            });
          }
          yield await candidate.adapter.embed({ ...request, input: inputs, model: candidate.model }, ctx);
        },
        usageOf: (result) => ({
          inputTokens: result.usage.inputTokens,
          outputTokens: 0,
          estimated: result.usage.estimated,
        }),
      },
      options.signal ?? new AbortController().signal,
    )) {
      if (event.type === 'route') route = event.route;
      else return { ...event.data, route: route! };
    }
    throw new SwitchboardError('BAD_RESPONSE', 'the provider returned no embeddings');
  }

  /**
   * Checks texts against a provider's content policy (OpenAI's moderations), one result per input, all
   * from the provider routing chose. With no model named, the vendor's current moderation model.
   */
  async moderate(
    request: { input: string[]; model?: string },
    options: RequestOptions = {},
  ): Promise<{ model: string; results: ModerationResult[]; route: RouteInfo }> {
    let route: RouteInfo | undefined;
    const routing: RoutingRequest = {
      capability: 'moderation',
      providerId: options.providerId,
      profile: options.profile,
      userId: options.userId,
      ...callerOf(options),
      estimatedInputTokens: Math.ceil(request.input.join(' ').length / 4),
      // Moderation models are rarely listed among a provider's models: the name goes to it as given.
      modelFor: () => request.model ?? DEFAULT_MODERATION_MODEL,
    };
    const operation: Operation<ModerationResult[]> = {
      kind: 'moderation',
      invoke: async function* (candidate, ctx) {
        const moderate = candidate.adapter.moderate;
        if (!moderate) {
          throw new SwitchboardError('NOT_SUPPORTED', `${candidate.provider.label} has no moderation`, {
            retryable: false,
          });
        }
        yield await Promise.all(request.input.map((text) => moderate(text, ctx, candidate.model)));
      },
    };
    for await (const event of this.router.run(routing, operation, options.signal ?? new AbortController().signal)) {
      if (event.type === 'route') route = event.route;
      else return { model: event.data[0]?.model ?? route!.model, results: event.data, route: route! };
    }
    throw new SwitchboardError('BAD_RESPONSE', 'the provider returned no moderation results');
  }

  async *transcribe(
    request: TranscriptionRequest,
    options: RequestOptions = {},
  ): AsyncIterable<EngineTranscriptionEvent> {
    // Bare ids of installed Whisper models (as /v1/models lists them) find the local provider.
    await this.refreshLocalModels(false);
    const routing: RoutingRequest = {
      capability: 'transcription',
      model: request.model,
      providerId: options.providerId,
      profile: options.profile ?? 'default',
      userId: options.userId,
      ...callerOf(options),
      estimatedInputTokens: 0,
      // With no model named, transcription runs on the provider's Whisper model, not its default chat model.
      modelFor: (provider) =>
        provider.kind === 'local'
          ? (this.config.local.whisperModel ?? 'the first installed Whisper model')
          : transcriptionModelOf(provider.vendor),
      dataKind: options.dataKind ?? 'meeting_audio',
      cloudConsent: options.cloudConsent,
    };
    const operation: Operation<TranscriptionEvent> = {
      kind: 'transcription',
      invoke: (candidate, ctx) => {
        if (!candidate.adapter.transcribe) {
          throw new SwitchboardError('NOT_SUPPORTED', `${candidate.provider.label} cannot transcribe`, {
            retryable: false,
          });
        }
        // A named model arrives as routing resolved it (`local/whisper-base` → `whisper-base`); unnamed, the
        // local transcriber takes the configured Whisper model or the first installed one.
        const model =
          request.model || candidate.provider.kind !== 'local' ? candidate.model : this.config.local.whisperModel;
        return candidate.adapter.transcribe({ ...request, model }, ctx);
      },
    };
    const signal = options.signal ?? new AbortController().signal;
    yield* this.withConsent(routing, () => this.router.run(routing, operation, signal));
  }

  /** The providers as the UI, CLI and HTTP API may show them (what they can do now, as routing sees it). */
  listProviders(): ProviderView[] {
    const config = this.router.config;
    return config.providers.map((p) => ({
      id: p.id,
      label: p.label,
      vendor: p.vendor,
      kind: p.kind,
      enabled: p.enabled,
      onMachine: p.onMachine,
      usable: isUsable(config, p),
      priority: p.priority,
      weight: p.weight,
      baseUrl: p.baseUrl,
      models: p.models,
      defaultModel: p.defaultModel,
      capabilities: p.capabilities,
      keys: p.keys.map(maskKey),
      limits: p.limits,
      source: p.source,
    }));
  }

  provider(id: string): EngineProvider {
    const provider = this.config.providers.find((p) => p.id === id);
    if (!provider) throw new SwitchboardError('NOT_FOUND', `provider "${id}" is not configured`, { retryable: false });
    return provider;
  }

  /** Every model of every usable provider. */
  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    const views = this.listProviders().filter((p) => p.usable);
    const lists = await Promise.all(
      views.map(async (view) => {
        const adapter = this.adapters.get(view.id);
        if (!adapter) return [];
        try {
          return await adapter.listModels({
            signal: signal ?? AbortSignal.timeout(HEALTH_TIMEOUT_MS),
            apiKey: this.provider(view.id).keys[0],
          });
        } catch {
          return view.models.map((id) => ({ id, providerId: view.id }));
        }
      }),
    );
    return lists.flat();
  }

  /** A provider that keeps its own models (Ollama): its adapter's pull and delete. */
  private modelManager(providerId: string): { adapter: OllamaAdapter; ctx: (signal?: AbortSignal) => CallContext } {
    const provider = this.provider(providerId);
    const adapter = this.adapters.get(providerId);
    if (!adapter || !('pullModel' in adapter)) {
      throw new SwitchboardError(
        'NOT_SUPPORTED',
        `${provider.label} does not manage its own models: only an Ollama provider pulls and deletes them`,
        { retryable: false },
      );
    }
    return {
      adapter: adapter as OllamaAdapter,
      ctx: (signal) => ({ signal: signal ?? new AbortController().signal, apiKey: provider.keys[0] }),
    };
  }

  /** Downloads a model onto a provider that keeps its own (Ollama's pull), reporting its progress. */
  async *pullProviderModel(providerId: string, model: string, signal?: AbortSignal): AsyncIterable<OllamaPullProgress> {
    const { adapter, ctx } = this.modelManager(providerId);
    yield* adapter.pullModel(model, ctx(signal));
    await this.refreshLocalModels();
  }

  /** Deletes a model from a provider that keeps its own (Ollama). */
  async deleteProviderModel(providerId: string, model: string): Promise<void> {
    const { adapter, ctx } = this.modelManager(providerId);
    await adapter.deleteModel(model, ctx(AbortSignal.timeout(HEALTH_TIMEOUT_MS)));
    await this.refreshLocalModels();
  }

  /** Checks each provider now with a cheap call (list models), or one; the router keeps the results. */
  async health(providerId?: string): Promise<ProviderHealth[]> {
    if (providerId) this.provider(providerId);
    return providerId ? [await this.router.checkHealth(providerId)] : this.router.healthCheckAll();
  }

  status(): EngineStatus {
    const config = this.router.config;
    const usable = config.providers.filter((p) => isUsable(config, p));
    const localOnly = usable.every((p) => p.onMachine);
    const cloudReachable = usable.some((p) => !p.onMachine);
    const mayLeave: MayLeave = !cloudReachable ? 'nothing' : config.meetingsCloud ? 'chat_and_meetings' : 'chat';
    let note: string | undefined;
    if (!config.cloudFallback) note = 'Cloud fallback is off: no request leaves this machine.';
    else if (localOnly)
      note = 'No cloud provider is configured: only local models answer. Add API keys to use cloud fallbacks.';
    return {
      cloudFallback: config.cloudFallback,
      meetingsCloud: config.meetingsCloud,
      mayLeave,
      keyProtection: this.vault?.protection ?? 'This process keeps no API keys of its own.',
      strategy: config.strategy,
      providers: config.providers.length,
      localOnly,
      configFile: this.source.file,
      configError: this.source.lastError?.message,
      note,
      state: this.router.state.status(),
    };
  }

  setCloudFallback(enabled: boolean): void {
    this.source.update((o) => {
      o.cloud_fallback = enabled;
    });
  }

  /** Consent for meetings: whether meeting audio and transcripts may go to cloud providers. */
  setMeetingsCloud(enabled: boolean): void {
    this.source.update((o) => {
      o.meetings_cloud = enabled;
    });
  }

  setProviderEnabled(id: string, enabled: boolean): void {
    this.updateProvider(id, { enabled });
  }

  setProviderPriority(id: string, priority: number): void {
    this.updateProvider(id, { priority });
  }

  /**
   * Changes a provider's settings (validated, persisted, applied at once: seed 004's update_provider_config).
   * Keys (`api_key`, `api_keys`) and header values go to the encrypted vault, never to settings.json. A
   * change of where the provider's requests go (base_url, or a type with another default address) drops
   * its stored keys unless the same change gives them again, so a caller cannot redirect keys to itself.
   */
  updateProvider(id: string, patch: FileProvider): void {
    const provider = this.provider(id);
    if (id === 'local') {
      this.source.update((o) => {
        o.local = {
          ...o.local,
          ...(patch.enabled === undefined ? {} : { enabled: patch.enabled }),
          ...(patch.priority === undefined ? {} : { priority: patch.priority }),
        };
      });
      return;
    }
    const { api_key, api_keys, headers, ...settings } = patch;
    const givenKeys = [...(api_keys ?? []), ...(api_key ? [api_key] : [])].map((k) => k.trim()).filter(Boolean);
    const moves =
      (settings.base_url !== undefined && settings.base_url !== provider.baseUrl) ||
      (settings.type !== undefined && resolveVendor(settings.type) !== provider.vendor);
    const vault = this.vault;
    if (!vault && (givenKeys.length > 0 || headers || moves)) {
      throw new SwitchboardError('NOT_SUPPORTED', 'keys can only be changed where the app has its store', {
        retryable: false,
      });
    }
    const before = vault ? { keys: vault.list(id), headers: vault.headers(id) } : undefined;
    const keep = (keys: string[], headerValues: Record<string, string> | undefined) => {
      for (const key of keys) vault!.add(id, key);
      for (const [name, value] of Object.entries(headerValues ?? {})) vault!.setHeader(id, name, value);
    };
    if (moves) vault!.clear(id);
    keep(givenKeys, headers);
    try {
      this.source.update((o) => {
        const providers = (o.providers ?? {}) as Record<string, FileProvider>;
        const { api_key: _key, api_keys: oldKeys, headers: _headers, ...kept } = providers[id] ?? {};
        // An empty list, no secret: keys from the file and environment do not follow the provider to a new address.
        const blocked = moves || oldKeys?.length === 0 ? { api_keys: [] } : {};
        providers[id] = { type: provider.vendor, ...kept, ...settings, ...blocked };
        o.providers = providers;
      });
    } catch (error) {
      if (moves || givenKeys.length > 0 || headers) {
        vault!.clear(id);
        keep(before!.keys, before!.headers);
      }
      const keyless = error instanceof ConfigError && error.issues.some((i) => i.path === `providers.${id}.api_key`);
      if (keyless && moves && givenKeys.length === 0) {
        throw new SwitchboardError(
          'INVALID_REQUEST',
          `changing where ${provider.label} sends requests drops its stored keys (so they cannot follow it to a new address): give api_key in the same change`,
          { retryable: false },
        );
      }
      throw error;
    }
  }

  /**
   * The model each job uses when a request names none: `provider/model` for chat and summaries (the
   * `chat` and `summarize` profiles), a local model's id for transcription and embeddings; undefined
   * where routing decides.
   */
  defaultModels(): Record<DefaultModelJob, string | undefined> {
    const chosen = (name: string) => {
      const profile = this.config.profiles[name];
      return profile?.provider && profile.model ? `${profile.provider}/${profile.model}` : undefined;
    };
    return {
      chat: chosen('chat'),
      summaries: chosen('summarize'),
      transcription: this.config.local.whisperModel,
      embeddings: this.config.local.embeddingModel,
    };
  }

  /** Chooses a job's default model, named as defaultModels() names them; null: routing decides again. */
  async setDefaultModel(job: DefaultModelJob, model: string | null): Promise<void> {
    if (job === 'transcription' || job === 'embeddings') {
      if (model && job === 'transcription') {
        await this.refreshLocalModels(false);
        if (!this.installed.some((m) => m.id === model && m.capabilities?.includes('transcription'))) {
          throw new SwitchboardError('INVALID_REQUEST', `${model} is not a Whisper model on this machine`, {
            retryable: false,
          });
        }
      }
      const field = job === 'transcription' ? 'whisper_model' : 'embedding_model';
      this.source.update((o) => {
        const local = { ...o.local };
        if (model) local[field] = model;
        else delete local[field];
        o.local = local;
      });
      return;
    }
    let choice: { provider: string; model: string } | undefined;
    if (model) {
      const slash = model.indexOf('/');
      if (slash <= 0 || slash === model.length - 1) {
        throw new SwitchboardError('INVALID_REQUEST', `name the model with its provider, as provider/model`, {
          retryable: false,
        });
      }
      choice = { provider: this.provider(model.slice(0, slash)).id, model: model.slice(slash + 1) };
    }
    const name = job === 'chat' ? 'chat' : 'summarize';
    this.source.update((o) => {
      const { provider: _provider, model: _model, ...kept } = o.profiles?.[name] ?? {};
      const capability = name === 'summarize' ? { capability: 'summarization' as const } : {};
      o.profiles = { ...o.profiles, [name]: { ...capability, ...kept, ...choice } };
    });
  }

  /** A model's own settings (`provider/model`), replacing those the app set before; null forgets them. */
  setModelOptions(model: string, options: ModelOptions | null): void {
    const slash = model.indexOf('/');
    if (slash <= 0) {
      throw new SwitchboardError('INVALID_REQUEST', 'name the model with its provider, as provider/model', {
        retryable: false,
      });
    }
    this.provider(model.slice(0, slash));
    this.source.update((o) => {
      const all = { ...o.model_options };
      if (options) {
        all[model] = {
          temperature: options.temperature,
          max_tokens: options.maxTokens,
          system_prompt: options.systemPrompt,
          context: options.contextTokens,
          gpu_layers: options.gpuLayers,
        };
      } else delete all[model];
      o.model_options = all;
    });
  }

  /**
   * Adds a provider made in the app or over the API: its settings are kept with the app's settings,
   * its key in the encrypted vault. Without an id it is named after its label (or type), made unique.
   * Returns the id it got.
   */
  addProvider(settings: FileProvider & { type: string }, options: { id?: string; key?: string } = {}): string {
    const taken = new Set(this.config.providers.map((p) => p.id));
    if (options.id && taken.has(options.id)) {
      throw new SwitchboardError(
        'INVALID_REQUEST',
        `a provider named "${options.id}" exists already: choose another name`,
        {
          retryable: false,
        },
      );
    }
    const id = options.id ?? freeId(settings.name ?? settings.type, taken);
    const key = options.key?.trim();
    if (key && !this.vault) {
      throw new SwitchboardError('NOT_SUPPORTED', 'keys can only be added where the app has its store', {
        retryable: false,
      });
    }
    // The key first: the configuration is validated with it (a vendor that needs a key refuses none).
    if (key) this.vault!.add(id, key);
    try {
      this.source.update((o) => {
        o.providers = { ...(o.providers as Record<string, FileProvider> | undefined), [id]: settings };
      });
    } catch (error) {
      this.vault?.clear(id);
      throw error;
    }
    return id;
  }

  /**
   * Removes a provider added in the app (its settings, its stored keys, and its place in profiles). One
   * the providers file or the environment sets up can only be turned off here: it would come back.
   */
  removeProvider(id: string): void {
    const provider = this.provider(id);
    if (provider.kind === 'local') {
      throw new SwitchboardError(
        'INVALID_REQUEST',
        'the models on this machine cannot be removed: turn them off instead',
        {
          retryable: false,
        },
      );
    }
    const drop = (o: FileConfig) => {
      const providers = { ...(o.providers as Record<string, FileProvider> | undefined) };
      delete providers[id];
      o.providers = providers;
      for (const profile of [...Object.values(o.profiles ?? {}), ...Object.values(o.strategies ?? {})]) {
        if (profile.provider === id) delete profile.provider;
        profile.fallback_providers = profile.fallback_providers?.filter((other) => other !== id);
      }
    };
    if (this.source.preview(drop).providers.some((p) => p.id === id)) {
      throw new SwitchboardError(
        'INVALID_REQUEST',
        `${provider.label} is set up in the providers file or the environment, so it can only be removed there: turn it off here instead`,
        { retryable: false },
      );
    }
    this.source.update(drop);
    this.vault?.clear(id);
  }

  /**
   * Moves keys and header values an older version wrote in clear into settings.json (through
   * /api/v1/providers/update) into the encrypted vault, and rewrites the file without them.
   */
  secureStoredSettings(): void {
    const overrides = this.source.currentOverrides;
    const providers = overrides.providers;
    if (!this.vault || !providers || Array.isArray(providers)) return;
    const inClear = Object.entries(providers).filter(
      ([, p]) => p.api_key !== undefined || (p.api_keys?.length ?? 0) > 0 || p.headers !== undefined,
    );
    if (inClear.length === 0) return;
    for (const [id, p] of inClear) {
      for (const key of [...(p.api_keys ?? []), ...(p.api_key ? [p.api_key] : [])]) this.vault.add(id, key);
      for (const [name, value] of Object.entries(p.headers ?? {})) this.vault.setHeader(id, name, value);
    }
    this.source.update((o) => {
      const stored = o.providers as Record<string, FileProvider>;
      for (const [id] of inClear) {
        const { api_key: _key, api_keys: _keys, headers: _headers, ...kept } = stored[id]!;
        stored[id] = kept;
      }
    });
  }

  setLocalOnly(enabled: boolean): void {
    this.source.update((o) => {
      o.local_only = enabled;
    });
  }

  /** Adds a key to a provider's pool. It is kept encrypted and joins the keys from the file and environment. */
  addKey(providerId: string, key: string): void {
    const provider = this.provider(providerId);
    if (!this.vault)
      throw new SwitchboardError('NOT_SUPPORTED', 'keys can only be added where the app has its store', {
        retryable: false,
      });
    if (provider.kind === 'local')
      throw new SwitchboardError('INVALID_REQUEST', 'the local provider takes no API key', { retryable: false });
    this.vault.add(providerId, key.trim());
    this.source.reload();
  }

  /** Removes the key at `index` of the provider's (masked) key list. */
  removeKey(providerId: string, index: number): void {
    const provider = this.provider(providerId);
    const key = provider.keys[index];
    if (key === undefined)
      throw new SwitchboardError('NOT_FOUND', `${provider.label} has no key number ${index + 1}`, { retryable: false });
    if (!this.vault?.list(providerId).includes(key)) {
      throw new SwitchboardError(
        'INVALID_REQUEST',
        `the key ending ${maskKey(key)} comes from ${provider.source}: remove it there`,
        { retryable: false },
      );
    }
    this.vault.remove(providerId, key);
    this.source.reload();
  }

  /** Checks a key (a new one, or the provider's first) with a cheap call, without keeping it. */
  async testKey(providerId: string, key?: string): Promise<{ ok: boolean; message: string }> {
    const provider = this.provider(providerId);
    const adapter = this.adapters.get(providerId);
    const apiKey = key?.trim() || provider.keys[0];
    if (!adapter) return { ok: false, message: `${provider.label} is not available` };
    try {
      const models = await adapter.listModels({ signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS), apiKey });
      return {
        ok: true,
        message: `${provider.label} accepted the key ending ${maskKey(apiKey)} (${models.length} models)`,
      };
    } catch (error) {
      return { ok: false, message: toSwitchboardError(error).message };
    }
  }

  /** Pins users to providers under the sticky strategy (the seeds' force-provider), and reports on them. */
  readonly sticky: StickyControls = {
    forceProvider: (userId, providerId) => {
      this.provider(providerId);
      this.router.sticky.forceProvider(userId, providerId);
    },
    clearUser: (userId) => this.router.sticky.clearUser(userId),
    forceRotation: () => this.router.sticky.forceRotation(),
    assignment: (userId) => this.router.sticky.assignment(userId),
    statistics: () => this.router.sticky.statistics(),
  };

  /** Closes one circuit breaker (`provider/model`) or all of them, e.g. after fixing a provider. */
  resetBreakers(key?: string): void {
    this.router.breakers.reset(key);
  }

  async close(): Promise<void> {
    this.source.close();
    this.router.close();
    await Promise.all([...this.adapters.values()].map((a) => a.close?.()));
  }
}
