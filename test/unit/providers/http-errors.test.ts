import { APIError } from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { type FailureScene, parseRetryAfter, toProviderError } from '../../../electron/engine/providers/http-errors.ts';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each([
    [{ 'retry-after': '12' }, 12_000],
    [{ 'retry-after': '1.5' }, 1_500],
    [{ 'retry-after': 'Thu, 01 Jan 2026 00:00:20 GMT' }, 20_000],
    [{ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }, 0],
    [{ 'retry-after-ms': '250', 'retry-after': '9' }, 250],
    [{ 'retry-after': 'soon' }, undefined],
    [{}, undefined],
  ])('%o → %s ms', (headers, expected) => {
    expect(parseRetryAfter(new Headers(headers), undefined, now)).toBe(expected);
  });

  it("reads Google's RetryInfo from the body", () => {
    expect(parseRetryAfter(undefined, '{"details":[{"retryDelay":"31.5s"}]}')).toBe(31_500);
  });
});

describe('toProviderError', () => {
  const scene: FailureScene = {
    config: {
      id: 'claude',
      label: 'Anthropic',
      vendor: 'anthropic',
      keys: ['sk-ant-secret-value-1234'],
      timeoutMs: 1000,
      firstTokenTimeoutMs: 500,
    },
    apiKey: 'sk-ant-secret-value-1234',
    operation: 'chat',
    model: 'claude-haiku-4-5',
    responseStarted: true,
  };

  it('maps an error event inside a 200 stream by its type (Anthropic overloaded mid-stream)', () => {
    // What @anthropic-ai/sdk throws for `event: error` in an SSE stream: no status, only the body.
    const thrown = new APIError(
      undefined,
      { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      undefined,
      new Headers(),
    );
    const error = toProviderError(thrown, scene);
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toBe(
      'PROVIDER_UNAVAILABLE: Anthropic is unavailable (HTTP 529): Overloaded. Try again later; routing falls back to other providers',
    );
  });

  it('scrubs a key that an upstream echoes into a 400 message', () => {
    const thrown = new APIError(
      400,
      { error: { type: 'invalid_request_error', message: 'bad header sk-ant-secret-value-1234' } },
      undefined,
      new Headers(),
    );
    const error = toProviderError(thrown, scene);
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).not.toContain('secret');
    expect(error.message).toContain('…1234');
  });

  it('a spent quota (402, or a 429 about quota) is QUOTA_EXCEEDED and not retryable; a rate limit is retryable', () => {
    const quota = new APIError(
      429,
      { error: { message: 'You exceeded your current quota, please check your plan and billing details.' } },
      undefined,
      new Headers(),
    );
    expect(toProviderError(quota, scene)).toMatchObject({ code: 'QUOTA_EXCEEDED', retryable: false });
    const payment = new APIError(402, { error: { message: 'Insufficient credits' } }, undefined, new Headers());
    expect(toProviderError(payment, scene)).toMatchObject({ code: 'QUOTA_EXCEEDED', status: 402 });
    const limited = new APIError(
      429,
      { error: { message: 'Rate limit reached' } },
      undefined,
      new Headers({ 'retry-after': '3' }),
    );
    expect(toProviderError(limited, scene)).toMatchObject({
      code: 'RATE_LIMITED',
      retryable: true,
      retryAfterMs: 3000,
    });
  });

  it('a keyless endpoint is not said to have a key, and a wait under a second reads in milliseconds', () => {
    const keyless: FailureScene = { ...scene, config: { ...scene.config, label: 'Open endpoint', keys: [] } };
    delete keyless.apiKey;
    const limited = new APIError(429, undefined, undefined, new Headers({ 'retry-after-ms': '25' }));
    expect(toProviderError(limited, keyless).message).toBe(
      "RATE_LIMITED: Open endpoint is rate limiting its requests and asks to wait 25 ms: lower this provider's rpm/tpm limits or add keys",
    );
    const unauthorized = new APIError(401, undefined, undefined, new Headers());
    expect(toProviderError(unauthorized, keyless).message).toBe(
      'PROVIDER_UNAUTHORIZED: Open endpoint asks for an API key: check ANTHROPIC_API_KEY or the key in settings',
    );
    expect(toProviderError(new APIError(429, undefined, undefined, new Headers()), scene).message).toContain(
      'is rate limiting the key ending …1234:',
    );
  });

  it("an upstream's refusal of the content is CONTENT_FILTERED, not a malformed request", () => {
    const refused = new APIError(
      400,
      {
        error: {
          code: 'content_filter',
          message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        },
      },
      undefined,
      new Headers(),
    );
    expect(toProviderError(refused, scene)).toMatchObject({ code: 'CONTENT_FILTERED', status: 400, retryable: false });
  });
});

describe('errors inside a 200 stream', () => {
  it("maps OpenRouter's numeric code in a mid-stream error chunk", async () => {
    const { APIError: OpenAIAPIError } = await import('openai');
    const thrown = new OpenAIAPIError(
      undefined,
      { code: 502, message: 'Upstream provider returned an error' },
      undefined,
      new Headers(),
    );
    const error = toProviderError(thrown, {
      config: {
        id: 'openrouter',
        label: 'OpenRouter',
        vendor: 'openrouter',
        keys: [],
        timeoutMs: 1000,
        firstTokenTimeoutMs: 500,
      },
      operation: 'chat',
      responseStarted: true,
    });
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toContain('OpenRouter is unavailable (HTTP 502): Upstream provider returned an error');
  });
});
