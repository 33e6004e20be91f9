import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SwitchboardError } from '../../../electron/engine/contract/errors.ts';
import {
  anthropicErrorBody,
  HttpError,
  invalidRequest,
  openAIErrorBody,
  toProblem,
} from '../../../electron/engine/server/problems.ts';

const KEY = 'sk-live-secret-key-abcdef123456';
const redact = (text: string) => text.split(KEY).join('…3456');
const problem = (error: unknown) => toProblem(error, redact);

describe('engine errors as HTTP', () => {
  it.each([
    ['MODEL_NOT_FOUND', 404],
    ['RATE_LIMITED', 429],
    ['CLOUD_DISABLED', 403],
    ['BUDGET_EXCEEDED', 402],
    ['INVALID_REQUEST', 400],
    ['CANCELLED', 499],
    ['PROVIDER_UNAUTHORIZED', 502],
    ['TIMEOUT', 504],
    ['NO_PROVIDER', 503],
  ] as const)('%s is %i', (code, status) => {
    expect(problem(new SwitchboardError(code, 'x')).status).toBe(status);
  });

  it('says a rejected upstream key is the gateway’s setup, not the caller’s token', () => {
    const p = problem(new SwitchboardError('PROVIDER_UNAUTHORIZED', `OpenAI rejected the key ${KEY}`));
    expect(p.status).toBe(502);
    expect(p.message).toContain('your Switchboard token is fine');
    expect(p.message).not.toContain(KEY);
  });

  it('reads ALL_PROVIDERS_FAILED by its attempts: one cause keeps its status, passing causes are 503', () => {
    const failed = (...codes: SwitchboardError['code'][]) =>
      new SwitchboardError('ALL_PROVIDERS_FAILED', 'every provider tried failed', {
        attempts: codes.map((code, i) => ({ providerId: `p${i}`, code, message: `${code} ${KEY}` })),
      });
    expect(problem(failed('RATE_LIMITED')).status).toBe(429);
    expect(problem(failed('RATE_LIMITED')).code).toBe('rate_limited');
    expect(problem(failed('RATE_LIMITED', 'PROVIDER_UNAVAILABLE')).status).toBe(503);
    expect(problem(failed('BAD_RESPONSE', 'PROVIDER_UNAVAILABLE')).status).toBe(502);
    const mixed = problem(failed('PROVIDER_UNAUTHORIZED', 'TIMEOUT'));
    expect(mixed.message).toContain('provider key');
    expect(JSON.stringify(mixed.serialized)).not.toContain(KEY);
  });

  it('turns Retry-After milliseconds into whole seconds', () => {
    expect(problem(new SwitchboardError('RATE_LIMITED', 'slow down', { retryAfterMs: 1_200 })).retryAfterSeconds).toBe(
      2,
    );
  });

  it('writes OpenAI’s and Anthropic’s error shapes', () => {
    const p = problem(new SwitchboardError('MODEL_NOT_FOUND', 'no such model'));
    expect(openAIErrorBody(p)).toEqual({
      error: { message: 'no such model', type: 'invalid_request_error', param: 'model', code: 'model_not_found' },
    });
    expect(anthropicErrorBody(p)).toEqual({
      type: 'error',
      error: { type: 'not_found_error', message: 'no such model' },
    });
    expect(openAIErrorBody(problem(new HttpError(401, 'invalid_api_key', 'no token')))).toMatchObject({
      error: { type: 'authentication_error' },
    });
  });

  it('names the first invalid field of a request', () => {
    const parsed = z.object({ messages: z.array(z.string()).min(1) }).safeParse({ messages: [] });
    const error = invalidRequest(parsed.error!);
    expect(error.status).toBe(400);
    expect(error.param).toBe('messages');
    expect(error.message).toMatch(/^messages: /);
  });
});
