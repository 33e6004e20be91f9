import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { expect } from 'vitest';
import type { EngineProvider } from '../../../electron/engine/config/types.ts';
import type { ChatStreamEvent } from '../../../electron/engine/contract/chat.ts';
import type { SwitchboardError } from '../../../electron/engine/contract/errors.ts';
import { createAdapter } from '../../../electron/engine/providers/create-adapter.ts';
import type { ChatCall, ProviderAdapter, ProviderConfig } from '../../../electron/engine/providers/types.ts';
import { systemClock } from '../../../electron/engine/routing/clock.ts';
import type { AttemptScope, Pass, RequestScope } from '../../../electron/engine/routing/stage.ts';
import { timeoutStage } from '../../../electron/engine/routing/timeout.ts';
import { startFakeAnthropic } from '../../fakes/anthropic.ts';
import { startFakeGemini } from '../../fakes/gemini.ts';
import type { FakeOptions, FakeServer } from '../../fakes/http-fake.ts';
import { startFakeOllama } from '../../fakes/ollama.ts';
import { startFakeOpenAI } from '../../fakes/openai.ts';
import { providerConfig } from '../../support/provider-config.ts';

export { providerConfig };

/** A key that looks like a real one and is unique per run, so any leak of it is unmistakable. */
export function secretKey(prefix: string): string {
  return `${prefix}${randomBytes(18).toString('base64url')}`;
}

/** One wire protocol under test: its fake, and a provider config pointing at it. */
export interface ProtocolCase {
  name: string;
  model: string;
  /** The env var the 401 message must point at. */
  keyEnv: string;
  start(options: FakeOptions): Promise<FakeServer>;
  config(fake: FakeServer, key: string): ProviderConfig;
  keyPrefix: string;
}

export const PROTOCOLS: ProtocolCase[] = [
  {
    name: 'openai-compatible (Groq)',
    model: 'llama-3.1-8b-instant',
    keyEnv: 'GROQ_API_KEY',
    keyPrefix: 'gsk_',
    start: (options) =>
      startFakeOpenAI({ models: ['llama-3.1-8b-instant', 'text-embedding-3-small', 'whisper-1'], ...options }),
    config: (fake, key) =>
      providerConfig({
        kind: 'openai-compatible',
        vendor: 'groq',
        label: 'Groq',
        baseUrl: `${fake.url}/v1`,
        keys: [key],
      }),
  },
  {
    name: 'openai-compatible (Azure)',
    model: 'gpt-4o-mini',
    keyEnv: 'AZURE_OPENAI_API_KEY',
    keyPrefix: 'az',
    start: (options) => startFakeOpenAI({ models: ['chat-deployment', 'embed-deployment'], ...options }),
    config: (fake, key) =>
      providerConfig({
        kind: 'openai-compatible',
        vendor: 'azure',
        label: 'Azure OpenAI',
        baseUrl: fake.url,
        keys: [key],
        azure: {
          apiVersion: '2024-10-21',
          deployments: { 'gpt-4o-mini': 'chat-deployment', 'text-embedding-3-small': 'embed-deployment' },
        },
      }),
  },
  {
    name: 'anthropic',
    model: 'claude-haiku-4-5',
    keyEnv: 'ANTHROPIC_API_KEY',
    keyPrefix: 'sk-ant-api03-',
    start: (options) => startFakeAnthropic(options),
    config: (fake, key) =>
      providerConfig({ kind: 'anthropic', vendor: 'anthropic', label: 'Anthropic', baseUrl: fake.url, keys: [key] }),
  },
  {
    name: 'gemini',
    model: 'gemini-2.5-flash',
    keyEnv: 'GEMINI_API_KEY',
    keyPrefix: 'AIza',
    start: (options) => startFakeGemini(options),
    config: (fake, key) =>
      providerConfig({ kind: 'gemini', vendor: 'gemini', label: 'Google Gemini', baseUrl: fake.url, keys: [key] }),
  },
  {
    name: 'ollama (behind a key-checking proxy)',
    model: 'llama3.2:1b',
    keyEnv: 'OLLAMA_API_KEY',
    keyPrefix: 'olp_',
    start: (options) => startFakeOllama(options),
    config: (fake, key) =>
      providerConfig({ kind: 'ollama', vendor: 'ollama', label: 'Ollama', baseUrl: fake.url, keys: [key] }),
  },
];

/** A fake and an adapter wired to it with a fresh key. */
export async function setUp(
  protocol: ProtocolCase,
  options: FakeOptions = {},
  overrides: Partial<ProviderConfig> = {},
): Promise<{ fake: FakeServer; adapter: ProviderAdapter; key: string }> {
  const key = secretKey(protocol.keyPrefix);
  const fake = await protocol.start({ apiKey: key, ...options });
  const adapter = createAdapter({ ...protocol.config(fake, key), ...overrides });
  return { fake, adapter, key };
}

/** Runs a promise that must fail, returning its SwitchboardError. */
export async function failure(run: () => Promise<unknown>): Promise<SwitchboardError> {
  try {
    await run();
  } catch (error) {
    expect(error).toHaveProperty('code');
    return error as SwitchboardError;
  }
  throw new Error('expected a failure, but the call succeeded');
}

/**
 * The key never shows: not in the message or the serialised error, where at most its last four
 * characters may appear (no five-character stretch of it does), and not in what a log would print.
 */
export function expectNoKey(error: SwitchboardError, key: string): void {
  const shown = `${error.message}\n${JSON.stringify(error.toJSON())}`;
  for (let i = 0; i + 5 <= key.length; i++) expect(shown).not.toContain(key.slice(i, i + 5));
  expect(inspect(error, { depth: 8 })).not.toContain(key.slice(-12));
}

/** A call context with a live signal. */
export function callWith(key: string, signal = new AbortController().signal) {
  return { signal, apiKey: key };
}

/**
 * An adapter's chat as a routed attempt makes it: under routing's timeout stage (the one timeout of a
 * call: the provider's first-token limit until the first event, unless the answer is collected, and
 * its total limit), the caller's `signal` joined.
 */
export async function* timedChat(
  adapter: ProviderAdapter,
  call: ChatCall,
  key: string,
  options: { signal?: AbortSignal; collected?: boolean } = {},
): AsyncGenerator<ChatStreamEvent> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const scope = {
    kind: 'chat',
    request: { capability: 'chat', estimatedInputTokens: 1, collected: options.collected },
  };
  const attempt = {
    scope: scope as RequestScope,
    candidate: { provider: adapter.config as EngineProvider, adapter, model: call.model },
    controller,
  } as AttemptScope;
  const pass = timeoutStage(systemClock).enter(attempt) as Pass;
  let first = true;
  try {
    for await (const event of adapter.chat(call, { signal: controller.signal, apiKey: key })) {
      if (first) pass.firstOutput?.();
      first = false;
      yield event;
    }
  } finally {
    pass.leave({ type: 'released' });
    options.signal?.removeEventListener('abort', onAbort);
  }
}
