import { afterEach, describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../../../electron/engine/config/provider-config.ts';
import type { ErrorCode } from '../../../electron/engine/contract/errors.ts';
import { collectChat } from '../../../electron/engine/providers/collect.ts';
import { always, type Fault } from '../../fakes/faults.ts';
import type { FakeServer } from '../../fakes/http-fake.ts';
import { callWith, expectNoKey, failure, PROTOCOLS, type ProtocolCase, setUp, timedChat } from './harness.ts';

interface FailureCase {
  name: string;
  fault?: Fault;
  /** Use a key the fake does not accept instead of a fault. */
  wrongKey?: boolean;
  model?: string;
  config?: Partial<ProviderConfig>;
  code: ErrorCode;
  /** What the message must tell the person to do. */
  advice: (protocol: ProtocolCase) => RegExp;
  status?: number;
  retryAfterMs?: number;
  retryable: boolean;
}

const CASES: FailureCase[] = [
  {
    name: 'a wrong key (the protocol own rejection)',
    wrongKey: true,
    code: 'PROVIDER_UNAUTHORIZED',
    advice: (p) => new RegExp(`rejected the API key ending …\\S{4}: check ${p.keyEnv} or the key in settings`),
    retryable: false,
  },
  {
    name: '401',
    fault: 'unauthorized',
    code: 'PROVIDER_UNAUTHORIZED',
    advice: (p) => new RegExp(`check ${p.keyEnv} or the key in settings`),
    status: 401,
    retryable: false,
  },
  {
    name: '403',
    fault: 'forbidden',
    code: 'PROVIDER_FORBIDDEN',
    advice: () => /check the key's permissions/,
    status: 403,
    retryable: false,
  },
  {
    name: '404 for a model the provider does not have',
    model: 'no-such-model',
    code: 'MODEL_NOT_FOUND',
    advice: () => /has no model "no-such-model".*List the models it serves/,
    status: 404,
    retryable: false,
  },
  {
    name: '429 with Retry-After',
    fault: { kind: 'rate-limit', retryAfter: '7' },
    code: 'RATE_LIMITED',
    advice: () => /asks to wait 7 s: lower this provider's rpm\/tpm limits or add keys/,
    status: 429,
    retryAfterMs: 7000,
    retryable: true,
  },
  {
    name: '500',
    fault: 'server-error',
    code: 'PROVIDER_UNAVAILABLE',
    advice: () => /Try again later/,
    status: 500,
    retryable: true,
  },
  {
    name: '503',
    fault: 'unavailable',
    code: 'PROVIDER_UNAVAILABLE',
    advice: () => /Try again later/,
    status: 503,
    retryable: true,
  },
  {
    name: 'a context-length rejection',
    fault: 'context-too-long',
    code: 'CONTEXT_TOO_LONG',
    advice: () => /Shorten it or pick a model with a larger context window/,
    status: 400,
    retryable: false,
  },
  {
    name: 'a hang before the first token',
    fault: 'hang',
    config: { firstTokenTimeoutMs: 300 },
    code: 'TIMEOUT',
    advice: () => /no first token within 300 ms.*raise first_token_timeout/,
    retryable: true,
  },
  {
    name: 'a stream that stalls past the total timeout',
    fault: { kind: 'hang', afterChunks: 3 },
    config: { timeoutMs: 400, firstTokenTimeoutMs: 5_000 },
    code: 'TIMEOUT',
    advice: () => /did not finish the chat request within 400 ms: try again, or raise timeout/,
    retryable: true,
  },
  {
    name: 'a connection reset',
    fault: 'reset',
    code: 'CONNECTION_FAILED',
    advice: () => /was reset before it answered: check the network or proxy/,
    retryable: true,
  },
  {
    name: 'malformed JSON in the stream',
    fault: 'malformed',
    code: 'BAD_RESPONSE',
    advice: () => /not valid JSON.*check that the base URL/,
    retryable: true,
  },
  {
    name: "the protocol's error event inside a stream",
    fault: { kind: 'stream-error', afterChunks: 3 },
    code: 'PROVIDER_UNAVAILABLE',
    advice: () => /Try again later; routing falls back to other providers/,
    retryable: true,
  },
  {
    name: 'a stream whose connection drops mid-way',
    fault: { kind: 'cut', afterChunks: 3 },
    code: 'STREAM_INTERRUPTED',
    advice: () => /stream stopped before it finished.*try again/,
    retryable: true,
  },
  {
    name: 'a stream that ends cleanly without its terminal event',
    fault: { kind: 'cut', afterChunks: 3, how: 'end' },
    code: 'STREAM_INTERRUPTED',
    advice: () => /stream stopped before it finished.*try again/,
    retryable: true,
  },
];

describe.each(PROTOCOLS)('the $name adapter turns upstream failures into errors a person can act on', (protocol) => {
  let fake: FakeServer | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it.each(CASES)('$name → $code', async (failureCase) => {
    const setup = await setUp(
      protocol,
      {
        text: 'one two three four five six seven eight nine ten',
        faults: failureCase.fault && always(failureCase.fault),
      },
      failureCase.config,
    );
    fake = setup.fake;
    const key = failureCase.wrongKey ? `${setup.key.slice(0, -6)}WRONG1` : setup.key;
    const started = Date.now();
    const error = await failure(() =>
      collectChat(
        timedChat(
          setup.adapter,
          { model: failureCase.model ?? protocol.model, messages: [{ role: 'user', content: 'Hello?' }] },
          key,
        ),
      ),
    );

    expect(error.code).toBe(failureCase.code);
    expect(error.message).toContain(setup.adapter.config.label);
    expect(error.message).toMatch(failureCase.advice(protocol));
    expect(error.providerId).toBe(setup.adapter.config.id);
    expect(error.retryable).toBe(failureCase.retryable);
    if (failureCase.status) expect(error.status).toBe(failureCase.status);
    if (failureCase.retryAfterMs) expect(error.retryAfterMs).toBe(failureCase.retryAfterMs);
    expectNoKey(error, key);
    expectNoKey(error, setup.key);
    expect(fake.requests).toHaveLength(1);
    // Nothing waits for the 5 s default timeout: the short ones fire on time, other failures come at once.
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});

describe('failures outside any one answer', () => {
  it('reports CONNECTION_FAILED, naming the address, when nothing listens there', async () => {
    const protocol = PROTOCOLS[0]!;
    const setup = await setUp(protocol);
    const url = setup.fake.url;
    await setup.fake.close();
    const error = await failure(() =>
      collectChat(
        setup.adapter.chat({ model: protocol.model, messages: [{ role: 'user', content: 'hi' }] }, callWith(setup.key)),
      ),
    );
    expect(error.code).toBe('CONNECTION_FAILED');
    expect(error.message).toContain(`could not connect to Groq at ${url}/v1 (ECONNREFUSED)`);
    expect(error.message).toContain('check that the server is running');
  });

  it('reads an HTTP-date Retry-After and retry-after-ms', async () => {
    const protocol = PROTOCOLS[0]!;
    const when = new Date(Date.now() + 30_000).toUTCString();
    const setup = await setUp(protocol, { faults: always({ kind: 'rate-limit', retryAfter: when }) });
    try {
      const byDate = await failure(() =>
        collectChat(
          setup.adapter.chat(
            { model: protocol.model, messages: [{ role: 'user', content: 'hi' }] },
            callWith(setup.key),
          ),
        ),
      );
      expect(byDate.retryAfterMs).toBeGreaterThan(27_000);
      expect(byDate.retryAfterMs).toBeLessThanOrEqual(30_000);
      setup.fake.setFaults(always({ kind: 'rate-limit', retryAfter: '9', retryAfterMs: 1500 }));
      const byMs = await failure(() =>
        setup.adapter.embed!({ model: 'text-embedding-3-small', input: 'x' }, callWith(setup.key)),
      );
      expect(byMs.code).toBe('RATE_LIMITED');
      expect(byMs.retryAfterMs).toBe(1500);
    } finally {
      await setup.fake.close();
    }
  });

  it('says CANCELLED, not TIMEOUT, when the caller aborts a hung request', async () => {
    const protocol = PROTOCOLS[2]!;
    const setup = await setUp(protocol, { faults: always('hang') });
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const error = await failure(() =>
        collectChat(
          setup.adapter.chat(
            { model: protocol.model, messages: [{ role: 'user', content: 'hi' }] },
            callWith(setup.key, controller.signal),
          ),
        ),
      );
      expect(error.code).toBe('CANCELLED');
      expect(error.message).toBe('CANCELLED: the chat request to Anthropic was cancelled');
    } finally {
      await setup.fake.close();
    }
  });
});
