import type { Usage } from '../../contract/chat.ts';
import type { ProviderConfig, WireCall } from '../types.ts';
import { afterName, parseObjectAt } from './json-members.ts';
import { type EventSpan, eventAround, eventData, findLine, occurrences, withoutEvents } from './sse.ts';
import { editedBody, isRecord, type StreamReader, samplingDefaults, UpstreamEventError, type Wire } from './wire.ts';

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
/** Roles whose message sets the conversation's instructions: a model's own system prompt then stays out. */
const SYSTEM_ROLES = new Set<unknown>(['system', 'developer']);

/** Whether the client asked for the usage chunk itself (stream_options.include_usage). */
export function asksForUsage(json: Record<string, unknown>): boolean {
  const options = json.stream_options;
  return isRecord(options) && options.include_usage === true;
}

function toUsage(usage: Record<string, unknown>): Usage | undefined {
  const input = usage.prompt_tokens;
  const output = usage.completion_tokens;
  if (typeof input !== 'number' || typeof output !== 'number') return undefined;
  return { inputTokens: input, outputTokens: output, estimated: false };
}

/** The usage object a `"usage"` name at `at` holds; undefined for `"usage": null` and other values. */
function usageAt(bytes: Buffer, at: number): Usage | undefined {
  const value = afterName(bytes, at, 'usage');
  if (value === -1) return undefined;
  const usage = parseObjectAt(bytes, value);
  return usage && toUsage(usage);
}

/**
 * OpenAI's chat completions as bytes. A stream is asked for its usage chunk (stream_options.include_usage)
 * even when the client did not ask, so the gateway can account for it; that extra chunk is then kept from
 * the client. Every other chunk passes as the upstream wrote it (with `"usage": null` in each, which is
 * how OpenAI spells "no usage yet" when it was asked).
 */
class OpenAIStreamReader implements StreamReader {
  ended = false;
  usage: Usage | undefined;
  outputEvents = 0;
  readonly #clientAsked: boolean;

  constructor(call: WireCall) {
    this.#clientAsked = asksForUsage(call.json);
  }

  read(run: Buffer): Buffer {
    const error = firstError(run);
    if (error !== -1) throw new UpstreamEventError(eventData(run, eventAround(run, error)) ?? run.toString('utf8'));
    this.outputEvents += occurrences(run, '"delta"');
    const dropped: EventSpan[] = [];
    for (let at = run.indexOf('"usage"'); at !== -1; at = run.indexOf('"usage"', at + 7)) {
      const usage = usageAt(run, at);
      if (!usage) continue;
      this.usage = usage;
      if (this.#clientAsked) continue;
      const event = eventAround(run, at);
      // The chunk that exists only because the gateway asked: no choices, just usage.
      const choices = run.subarray(event.start, event.end);
      if (choices.includes('"choices":[]') || choices.includes('"choices": []')) dropped.push(event);
    }
    if (findLine(run, 'data', '[DONE]') !== -1) this.ended = true;
    return withoutEvents(run, dropped);
  }
}

/**
 * An error object where a chunk would be: `data: {"error": …}` (OpenAI and most compatible servers) or
 * an `event: error` (some proxies). `{"error"` cannot occur inside a JSON string, where quotes are escaped.
 */
function firstError(run: Buffer): number {
  // Runs on every frame: one scan, and the three searches only in a run that holds the word at all.
  if (run.indexOf('error') === -1) return -1;
  let first = -1;
  for (const at of [run.indexOf('{"error"'), run.indexOf('{ "error"'), findLine(run, 'event', 'error')]) {
    if (at !== -1 && (first === -1 || at < first)) first = at;
  }
  return first;
}

export const openAIWire: Wire = {
  protocol: 'openai',

  endpoint(config: ProviderConfig) {
    const azure = config.azure;
    if (azure) {
      // Azure addresses a deployment in the path, with its api-version, and reads the model from there.
      const base = new URL(config.baseUrl ?? '');
      const prefix = base.pathname.replace(/\/+$/, '');
      const version = encodeURIComponent(azure.apiVersion);
      return {
        origin: base.origin,
        path: (model) =>
          `${prefix}/openai/deployments/${encodeURIComponent(azure.deployments[model] ?? model)}/chat/completions?api-version=${version}`,
      };
    }
    const base = new URL(config.baseUrl ?? DEFAULT_BASE_URL);
    const path = `${base.pathname.replace(/\/+$/, '')}/chat/completions`;
    return { origin: base.origin, path: () => path };
  },

  headers(config, apiKey) {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...config.headers };
    if (apiKey !== undefined) {
      if (config.azure) headers['api-key'] = apiKey;
      else headers.authorization = `Bearer ${apiKey}`;
    }
    return headers;
  },

  body(call) {
    const edits = samplingDefaults(call, ['max_tokens', 'max_completion_tokens']);
    const system = call.options?.systemPrompt;
    const messages = call.json.messages;
    if (system && Array.isArray(messages) && !messages.some((m) => isRecord(m) && SYSTEM_ROLES.has(m.role))) {
      edits.push({ key: 'messages', json: JSON.stringify([{ role: 'system', content: system }, ...messages]) });
    }
    if (call.json.model !== call.model) edits.push({ key: 'model', json: JSON.stringify(call.model) });
    if (call.stream && !asksForUsage(call.json)) {
      const options = isRecord(call.json.stream_options) ? call.json.stream_options : {};
      edits.push({ key: 'stream_options', json: JSON.stringify({ ...options, include_usage: true }) });
    }
    return editedBody(call, edits);
  },

  usageOf: toUsage,

  reader: (call) => new OpenAIStreamReader(call),
};
