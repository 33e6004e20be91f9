import type { Usage } from '../../contract/chat.ts';
import type { ProviderConfig } from '../types.ts';
import { afterName, parseObjectAt } from './json-members.ts';
import { eventAround, eventData, findLine, occurrences } from './sse.ts';
import { editedBody, type StreamReader, samplingDefaults, UpstreamEventError, type Wire } from './wire.ts';

const DEFAULT_BASE_URL = 'https://api.anthropic.com';
/** The Messages API version the adapter's SDK speaks, sent when the client names none. */
const DEFAULT_VERSION = '2023-06-01';
/** Request headers of the Messages API that say how to read the request: the client's, passed on. */
const PROTOCOL_HEADERS = ['anthropic-version', 'anthropic-beta'] as const;

/**
 * Anthropic's Messages API as bytes. Usage comes in two parts: the prompt's tokens in message_start,
 * the answer's (a running total) in each message_delta; message_stop ends the stream.
 */
class AnthropicStreamReader implements StreamReader {
  ended = false;
  outputEvents = 0;
  #input: number | undefined;
  #output: number | undefined;

  get usage(): Usage | undefined {
    if (this.#input === undefined || this.#output === undefined) return undefined;
    return { inputTokens: this.#input, outputTokens: this.#output, estimated: false };
  }

  read(run: Buffer): Buffer {
    const error = findLine(run, 'event', 'error');
    if (error !== -1) throw new UpstreamEventError(eventData(run, eventAround(run, error)) ?? run.toString('utf8'));
    this.outputEvents += occurrences(run, 'content_block_delta');
    for (let at = run.indexOf('"usage"'); at !== -1; at = run.indexOf('"usage"', at + 7)) {
      const value = afterName(run, at, 'usage');
      const usage = value === -1 ? undefined : parseObjectAt(run, value);
      if (!usage) continue;
      if (typeof usage.input_tokens === 'number' && (this.#input === undefined || usage.input_tokens > 0))
        this.#input = usage.input_tokens;
      if (typeof usage.output_tokens === 'number') this.#output = usage.output_tokens;
    }
    if (findLine(run, 'event', 'message_stop') !== -1) this.ended = true;
    return run;
  }
}

export const anthropicWire: Wire = {
  protocol: 'anthropic',

  endpoint(config: ProviderConfig) {
    const base = new URL(config.baseUrl ?? DEFAULT_BASE_URL);
    const path = `${base.pathname.replace(/\/+$/, '')}/v1/messages`;
    return { origin: base.origin, path: () => path };
  },

  headers(config, apiKey, call) {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...config.headers };
    for (const name of PROTOCOL_HEADERS) {
      const value = call.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    headers['anthropic-version'] ??= DEFAULT_VERSION;
    if (apiKey !== undefined) headers['x-api-key'] = apiKey;
    return headers;
  },

  body(call) {
    const edits = samplingDefaults(call, ['max_tokens']);
    const system = call.options?.systemPrompt;
    if (system && call.json.system == null) edits.push({ key: 'system', json: JSON.stringify(system) });
    if (call.json.model !== call.model) edits.push({ key: 'model', json: JSON.stringify(call.model) });
    return editedBody(call, edits);
  },

  usageOf(usage) {
    if (typeof usage.input_tokens !== 'number' || typeof usage.output_tokens !== 'number') return undefined;
    return { inputTokens: usage.input_tokens, outputTokens: usage.output_tokens, estimated: false };
  },

  reader: () => new AnthropicStreamReader(),
};
