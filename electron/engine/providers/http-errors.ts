import { isVendor, VENDORS, type VendorDefaults } from '../config/vendors.ts';
import { describeDuration, type ErrorCode, maskKey, redactSecrets, SwitchboardError } from '../contract/errors.ts';
import type { ProviderConfig } from './types.ts';

/** What an adapter was doing when it failed; words for messages and the 404 model-vs-endpoint split. */
export type Operation = 'chat' | 'embeddings' | 'models' | 'moderation' | 'transcription' | 'pull' | 'delete';

/** Why the attempt's own signal fired, where it did. */
export type AbortCause = 'cancelled' | 'timeout' | 'first-token-timeout';

/**
 * The reason routing's timeout stage aborts an attempt's signal with: the one timeout of a routed call
 * (adapters and SDKs arm none of their own), so the translation below can say which limit ran out.
 */
export class AttemptTimeout extends Error {
  readonly limit: 'first-token' | 'total';
  readonly ms: number;

  constructor(which: 'first-token' | 'total', ms: number) {
    super(which === 'first-token' ? `no first token within ${ms} ms` : `no complete answer within ${ms} ms`);
    this.name = 'AttemptTimeout';
    this.limit = which;
    this.ms = ms;
  }
}

/** Why a call's signal fired: routing's timeout, a caller's AbortSignal.timeout(), or the caller leaving. */
export function abortCause(signal: AbortSignal): AbortCause | undefined {
  if (!signal.aborted) return undefined;
  const reason: unknown = signal.reason;
  if (reason instanceof AttemptTimeout) return reason.limit === 'first-token' ? 'first-token-timeout' : 'timeout';
  if (reason instanceof Error && reason.name === 'TimeoutError') return 'timeout';
  return 'cancelled';
}

/** How long the limit that fired was, where a signal says (AttemptTimeout), for messages. */
function timeoutOf(signal: AbortSignal | undefined): number | undefined {
  return signal?.reason instanceof AttemptTimeout ? signal.reason.ms : undefined;
}

/** Everything known about a failed call besides the thrown value. */
export interface FailureScene {
  config: Pick<ProviderConfig, 'id' | 'label' | 'vendor' | 'baseUrl' | 'keys' | 'timeoutMs' | 'firstTokenTimeoutMs'>;
  apiKey?: string;
  operation: Operation;
  model?: string;
  /** The upstream had answered 2xx and its body was being read when the failure came. */
  responseStarted: boolean;
  /** Status and headers of the last upstream answer (SDKs such as ollama-js and @google/genai drop headers). */
  response?: { status: number; headers: Headers };
  aborted?: AbortCause;
  /** The signal the call ran under, where it fired: how long its limit was. */
  signal?: AbortSignal;
}

/** Thrown by adapters when a stream ends without the protocol's terminal event. */
export class IncompleteStreamError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'IncompleteStreamError';
  }
}

/** An error the upstream reported inside a stream it had begun, where its SDK gives it no status or type. */
export class UpstreamStreamError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'UpstreamStreamError';
  }
}

/** The environment variable that holds a vendor's key, for "check X" advice. */
export function apiKeyEnvVar(vendor: string): string {
  const known = isVendor(vendor) ? (VENDORS[vendor] as VendorDefaults).keyEnv : undefined;
  return known ?? `${vendor.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_API_KEY`;
}

/**
 * Milliseconds to wait, from `retry-after-ms` (OpenAI, Azure), `retry-after` in seconds or as an
 * HTTP-date (RFC 9110), or Google's RetryInfo `retryDelay: "7s"` in an error body.
 */
export function parseRetryAfter(headers: Headers | undefined, body?: string, now = Date.now()): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const value = headers?.get('retry-after')?.trim();
  if (value) {
    if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number.parseFloat(value) * 1000);
    const date = Date.parse(value);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  const delay = body?.match(/"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/);
  return delay ? Math.round(Number.parseFloat(delay[1]!) * 1000) : undefined;
}

// Error types some protocols send without an HTTP status (inside a 200 stream), mapped to the status
// the same failure has when it comes as an HTTP answer.
const STATUS_BY_ERROR_TYPE: Record<string, number> = {
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
  server_error: 500,
};

const CONTEXT_TOO_LONG =
  /context[_ ]length|maximum context|context window|prompt is too long|too many tokens|exceeds the maximum number of tokens|prompt too long/i;
const QUOTA = /quota|billing|insufficient[_ ]credit|credit balance/i;
const CONTENT_POLICY = /content[_ ]?(policy|filter|management)|safety system|flagged as (unsafe|harmful)/i;
const INVALID_KEY = /API_KEY_INVALID|API key not valid|invalid[_ ]api[_ ]key|incorrect api key/i;
const CONNECTION_REFUSED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const CONNECTION_DROPPED = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);
const TIMED_OUT = new Set(['ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** Turns anything an SDK or fetch threw into a SwitchboardError that names the provider and says what to do. */
export function toProviderError(error: unknown, scene: FailureScene): SwitchboardError {
  const { config } = scene;
  const secrets = [scene.apiKey ?? '', ...config.keys];
  const scrub = (text: string) => redactSecrets(text, secrets);
  const facts = { providerId: config.id };
  const label = config.label;

  if (scene.aborted === 'cancelled') return cancelled(scene);
  if (scene.aborted === 'first-token-timeout') {
    return new SwitchboardError(
      'TIMEOUT',
      `${label} sent no first token within ${describeDuration(timeoutOf(scene.signal) ?? config.firstTokenTimeoutMs)}: ` +
        `it may be overloaded; try again, or raise first_token_timeout for this provider in providers.yaml`,
      facts,
    );
  }
  if (scene.aborted === 'timeout') return timeoutError(scene);
  if (error instanceof SwitchboardError) return error;

  const http = httpFailure(error, scene);
  if (http) return fromStatus(http.status, http.detail, http.headers, scene, scrub);

  if (error instanceof UpstreamStreamError) {
    return new SwitchboardError(
      'PROVIDER_UNAVAILABLE',
      `${label} failed mid-stream: ${truncate(scrub(error.message))}. Try again later; routing falls back to other providers`,
      facts,
    );
  }
  const chain = causeChain(error);
  const codes = chain.map((e) => String((e as { code?: unknown }).code ?? ''));
  const names = chain.map((e) => e.name);
  const text = chain.map((e) => e.message).join(' | ');
  const where = config.baseUrl ? ` at ${config.baseUrl}` : '';

  if (names.includes('IncompleteStreamError') || /Did not receive done|Incomplete JSON segment/.test(text)) {
    return streamInterrupted(scene, scrub(chain.find((e) => e.name === 'IncompleteStreamError')?.message ?? text));
  }
  if (
    codes.some((c) => TIMED_OUT.has(c)) ||
    names.some((n) => n === 'APIConnectionTimeoutError' || n === 'TimeoutError')
  ) {
    return timeoutError(scene);
  }
  if (names.includes('AbortError') || names.includes('APIUserAbortError')) return cancelled(scene);
  if (names.includes('SyntaxError') || /malformed|not valid JSON|Unexpected token|exception parsing/i.test(text)) {
    return new SwitchboardError(
      'BAD_RESPONSE',
      `${label} sent a reply that is not valid JSON${where}: check that the base URL points at the ` +
        `${label} API and not at a proxy or web page; if it happens only sometimes, try again`,
      facts,
    );
  }
  const refused = codes.find((c) => CONNECTION_REFUSED.has(c));
  if (refused) {
    return new SwitchboardError(
      'CONNECTION_FAILED',
      `could not connect to ${label}${where} (${refused}): check that the server is running and the base URL is right`,
      facts,
    );
  }
  const dropped =
    codes.some((c) => CONNECTION_DROPPED.has(c)) ||
    /terminated|other side closed|socket hang up|fetch failed/i.test(text);
  if (dropped) {
    if (scene.responseStarted && scene.operation === 'chat') {
      return streamInterrupted(scene, 'the connection closed mid-stream');
    }
    return new SwitchboardError(
      'CONNECTION_FAILED',
      `the connection to ${label}${where} was reset before it answered: check the network or proxy, then try again`,
      facts,
    );
  }
  return new SwitchboardError('INTERNAL', `${label} ${scene.operation} failed: ${scrub(text)}`, facts);
}

/** The end of a stream that stopped before its terminal event, as the caller should see it. */
function streamInterrupted(scene: FailureScene, detail: string): SwitchboardError {
  return new SwitchboardError(
    'STREAM_INTERRUPTED',
    `${scene.config.label}'s stream stopped before it finished (${detail}); the partial answer is incomplete: try again`,
    { providerId: scene.config.id },
  );
}

function cancelled(scene: FailureScene): SwitchboardError {
  return new SwitchboardError('CANCELLED', `the ${scene.operation} request to ${scene.config.label} was cancelled`, {
    providerId: scene.config.id,
  });
}

function timeoutError(scene: FailureScene): SwitchboardError {
  const ms = timeoutOf(scene.signal) ?? scene.config.timeoutMs;
  return new SwitchboardError(
    'TIMEOUT',
    `${scene.config.label} did not finish the ${scene.operation} request within ${describeDuration(ms)}: ` +
      `try again, or raise timeout for this provider in providers.yaml`,
    { providerId: scene.config.id },
  );
}

function fromStatus(
  status: number,
  detail: string,
  headers: Headers | undefined,
  scene: FailureScene,
  scrub: (text: string) => string,
): SwitchboardError {
  const { config } = scene;
  const label = config.label;
  const facts = { providerId: config.id, status };
  // The upstream's own sentence, without its final full stop, so that ours can follow it.
  const said = detail ? `: ${truncate(scrub(detail)).replace(/\.\s*$/, '')}` : '';
  // A keyless endpoint (an open server, Ollama) has no key to name.
  const masked = scene.apiKey ? maskKey(scene.apiKey) : undefined;
  const make = (code: ErrorCode, message: string, extra: { retryAfterMs?: number; retryable?: boolean } = {}) =>
    new SwitchboardError(code, message, { ...facts, ...extra });

  if (status === 401 || (status === 400 && INVALID_KEY.test(detail))) {
    return make(
      'PROVIDER_UNAUTHORIZED',
      `${label} ${masked ? `rejected the API key ending ${masked}` : 'asks for an API key'}: check ${apiKeyEnvVar(config.vendor)} or the key in settings`,
    );
  }
  if (status === 403) {
    return make(
      'PROVIDER_FORBIDDEN',
      `${label} refused ${masked ? `the API key ending ${masked} ` : ''}access to ${scene.model ? `model "${scene.model}"` : `this ${scene.operation} endpoint`}: ` +
        `check the key's permissions, project or region in the ${label} console`,
    );
  }
  if (status === 404) {
    if (scene.model && scene.operation !== 'models') {
      return make(
        'MODEL_NOT_FOUND',
        `${label} has no model "${scene.model}"${said}. List the models it serves (Providers → ${label} → Models, ` +
          `which asks its models endpoint) and correct the model name`,
      );
    }
    return make(
      'NOT_FOUND',
      `${label} has no ${scene.operation} endpoint at ${config.baseUrl ?? 'its default address'}: check the base URL`,
    );
  }
  if (status === 429 || status === 402) {
    const retryAfterMs = parseRetryAfter(headers, detail);
    // A spent quota (402, or a 429 with no wait offered and words about quota or billing) will not clear
    // by retrying; a rate limit will.
    if (status === 402 || (retryAfterMs === undefined && QUOTA.test(detail))) {
      return make(
        'QUOTA_EXCEEDED',
        `${label} says the quota or credit${masked ? ` of the key ending ${masked}` : ''} is used up${said}. Check billing, or add another key`,
        { retryAfterMs, retryable: false },
      );
    }
    const wait = retryAfterMs === undefined ? '' : ` and asks to wait ${describeDuration(retryAfterMs)}`;
    return make(
      'RATE_LIMITED',
      `${label} is rate limiting ${masked ? `the key ending ${masked}` : 'its requests'}${wait}: lower this provider's rpm/tpm limits or add keys`,
      { retryAfterMs },
    );
  }
  if (status >= 500) {
    return make(
      'PROVIDER_UNAVAILABLE',
      `${label} is unavailable (HTTP ${status})${said}. Try again later; routing falls back to other providers`,
      { retryAfterMs: parseRetryAfter(headers, detail) },
    );
  }
  if (status === 413 || CONTEXT_TOO_LONG.test(detail)) {
    return make(
      'CONTEXT_TOO_LONG',
      `the conversation is too long for ${scene.model ? `"${scene.model}" on ` : ''}${label}${said}. Shorten it or pick a model with a larger context window`,
    );
  }
  if (CONTENT_POLICY.test(detail)) {
    return make(
      'CONTENT_FILTERED',
      `${label} refused the content under its usage policy${said}. Rephrase the request, or send it to another provider`,
      { retryable: false },
    );
  }
  return make(
    'INVALID_REQUEST',
    `${label} rejected the ${scene.operation} request (HTTP ${status})${said}. Check the request's parameters for this model`,
  );
}

interface HttpFailure {
  status: number;
  detail: string;
  headers?: Headers;
}

/** Status, the upstream's own words and headers, from the error shapes of the four SDKs. */
function httpFailure(error: unknown, scene: FailureScene): HttpFailure | undefined {
  if (!(error instanceof Error)) return undefined;
  const e = error as Error & { status?: unknown; status_code?: unknown; headers?: unknown; error?: unknown };
  const body = e.error ?? parseJson(e.message);
  const detail = upstreamMessage(body) ?? e.message.replace(/^\d{3}\s+/, '');
  let status = typeof e.status === 'number' ? e.status : typeof e.status_code === 'number' ? e.status_code : undefined;
  // Errors delivered inside a 200 stream (Anthropic `event: error`, OpenAI `data: {"error":…}`) carry only a type.
  // OpenRouter puts an HTTP-like numeric code in such errors instead.
  if (status === undefined && body !== undefined)
    status = STATUS_BY_ERROR_TYPE[upstreamType(body) ?? ''] ?? upstreamCode(body);
  if (status === undefined || status < 400) return undefined;
  const headers = e.headers instanceof Headers ? e.headers : scene.response?.headers;
  return { status, detail: `${detail}${retryInfo(body)}`, headers };
}

function upstreamMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body;
  if (!body || typeof body !== 'object') return undefined;
  const record = body as { message?: unknown; error?: unknown };
  if (typeof record.message === 'string') return record.message;
  return upstreamMessage(record.error);
}

function upstreamCode(body: unknown): number | undefined {
  const code = (body as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' && code >= 400 && code < 600 ? code : undefined;
}

function upstreamType(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const record = body as { type?: unknown; error?: unknown };
  const inner = upstreamType(record.error);
  return inner ?? (typeof record.type === 'string' ? record.type : undefined);
}

/** Google puts the wait in the body, not in headers; keep it visible to parseRetryAfter. */
function retryInfo(body: unknown): string {
  const match = JSON.stringify(body ?? null).match(/"retryDelay"\s*:\s*"[\d.]+s"/);
  return match ? ` (${match[0]})` : '';
}

function parseJson(text: string): unknown {
  const start = text.indexOf('{');
  if (start < 0) return undefined;
  try {
    return JSON.parse(text.slice(start));
  } catch {
    return undefined;
  }
}

function causeChain(error: unknown): Error[] {
  const chain: Error[] = [];
  let current: unknown = error;
  while (current instanceof Error && chain.length < 8) {
    chain.push(current);
    current = current.cause;
  }
  if (chain.length === 0) chain.push(new Error(String(error)));
  return chain;
}

function truncate(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
