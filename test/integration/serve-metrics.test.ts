import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeCollector, type ReceivedSpan, startFakeCollector } from '../fakes/otlp.ts';
import { type FakeServer, type Fault, faultSequence, startFakeOpenAI } from '../fakes/providers.ts';
import { freePort } from '../support/ports.ts';
import { series } from '../support/prometheus.ts';
import { type ServeProcess, startServe, TOKEN } from './routing-harness.ts';

/**
 * What an operator reads after a scripted run through a real `switchboard serve`: the /metrics series
 * for fallbacks, retries, rate limits (theirs and ours), key states and health, with the labels they
 * filter by; and, with OTEL_EXPORTER_OTLP_ENDPOINT set, the spans a collector receives.
 */

const GOOD_KEY = 'sk-metrics-good-key-0123456789abcdef';
const BAD_KEY = 'sk-metrics-revoked-key-fedcba9876543210';
const PROMPT = 'Tell me the secret plan for the quarterly offsite';
const ANSWER = 'Backup answers: the offsite is in the mountains this year';

/** Each provider serves a model of its own, so no request wanders to a provider the script did not aim at. */
function upstream(fake: FakeServer, model: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'custom',
    base_url: `${fake.url}/v1`,
    default_model: model,
    models: [model],
    health_check_interval: 0,
    ...extra,
  };
}

async function chat(
  serve: ServeProcess,
  model: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; provider: string | null }> {
  const response = await fetch(`${serve.api}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: PROMPT }] }),
  });
  await response.arrayBuffer();
  return { status: response.status, provider: response.headers.get('x-switchboard-provider') };
}

function sorted<T extends { labels: Record<string, string> }>(samples: T[]): T[] {
  const key = (s: T) => JSON.stringify(Object.entries(s.labels).sort());
  return [...samples].sort((a, b) => key(a).localeCompare(key(b)));
}

/** The series has exactly these label sets and values, in any order. */
function expectSeries(text: string, name: string, expected: { labels: Record<string, string>; value: number }[]) {
  expect(sorted(series(text, name))).toEqual(sorted(expected));
}

describe('switchboard serve: /metrics after a scripted run', () => {
  const fakes: FakeServer[] = [];
  let dataDir: string;
  let serve: ServeProcess;
  let metrics: string;

  const start = async (model: string, options: { apiKey?: string; faults?: Fault[] } = {}) => {
    const fake = await startFakeOpenAI({
      apiKey: options.apiKey,
      models: [model],
      text: `${model} answers.`,
      faults: options.faults ? faultSequence(...options.faults) : undefined,
    });
    fakes.push(fake);
    return fake;
  };

  beforeAll(async () => {
    // primary: its first chat 500s (one attempt only: straight to its fallback), its second 429s.
    const primary = await start('alpha-1', { faults: ['server-error', { kind: 'rate-limit', retryAfter: '7' }] });
    const backup = await start('beta-1');
    // flaky: a 503 retried once on the same provider.
    const flaky = await start('gamma-1', { faults: ['unavailable'] });
    const limited = await start('delta-1');
    // keyed: accepts only the second of its two keys; the first gets a 401 and is disabled.
    const keyed = await start('epsilon-1', { apiKey: GOOD_KEY });
    dataDir = mkdtempSync(join(tmpdir(), 'sb-serve-metrics-'));
    serve = await startServe(dataDir, {
      fallback_responder: false,
      providers: {
        primary: upstream(primary, 'alpha-1', {
          retry: { max_attempts: 1 },
          failover: { fallback_providers: ['backup'] },
        }),
        backup: upstream(backup, 'beta-1'),
        flaky: upstream(flaky, 'gamma-1', { retry: { max_attempts: 2, backoff_factor: 0.001 } }),
        limited: upstream(limited, 'delta-1', { rate_limit: { requests_per_minute: 1, on_limit: 'skip' } }),
        keyed: upstream(keyed, 'epsilon-1', { api_keys: [BAD_KEY, GOOD_KEY] }),
        // Nothing listens there: after two failed health checks in a row it is down.
        dead: { type: 'custom', base_url: `http://127.0.0.1:${await freePort()}/v1`, default_model: 'zeta-1' },
      },
    });

    expect(await chat(serve, 'primary/alpha-1')).toEqual({ status: 200, provider: 'backup' });
    expect(await chat(serve, 'primary/alpha-1')).toEqual({ status: 200, provider: 'backup' });
    expect(await chat(serve, 'flaky/gamma-1')).toEqual({ status: 200, provider: 'flaky' });
    expect(await chat(serve, 'limited/delta-1')).toEqual({ status: 200, provider: 'limited' });
    expect((await chat(serve, 'limited/delta-1')).status).toBe(429);
    expect(await chat(serve, 'keyed/epsilon-1')).toEqual({ status: 200, provider: 'keyed' });
    // A model the configuration does not name: counted under model="other".
    expect((await chat(serve, 'backup/unlisted-7')).status).toBe(404);
    for (let check = 0; check < 2; check++) {
      await fetch(`${serve.api}/api/v1/providers/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
    }
    metrics = await (await fetch(`${serve.api}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  }, 120_000);

  afterAll(async () => {
    if (serve?.child.exitCode === null) serve.child.kill('SIGKILL');
    await Promise.all(fakes.map((f) => f.close()));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts each move to the next provider, by the error that made it', () => {
    expectSeries(metrics, 'switchboard_fallbacks_total', [
      { labels: { from_provider: 'primary', to_provider: 'backup', reason: 'provider_unavailable' }, value: 1 },
      { labels: { from_provider: 'primary', to_provider: 'backup', reason: 'rate_limited' }, value: 1 },
    ]);
  });

  it('counts each retry on the same provider: after a 503, and with its other key after a 401', () => {
    expectSeries(metrics, 'switchboard_retries_total', [
      { labels: { provider: 'flaky', reason: 'provider_unavailable' }, value: 1 },
      { labels: { provider: 'keyed', reason: 'provider_unauthorized' }, value: 1 },
    ]);
  });

  it('tells the upstream’s 429s from our own RPM refusals', () => {
    expectSeries(metrics, 'switchboard_rate_limited_total', [
      { labels: { provider: 'limited', source: 'local', key: 'api-token' }, value: 1 },
      { labels: { provider: 'primary', source: 'upstream', key: 'api-token' }, value: 1 },
    ]);
  });

  it('shows the key disabled after its 401 by its place in the list, never the key', () => {
    const keyed = series(metrics, 'switchboard_key_state').filter((s) => s.labels.provider === 'keyed');
    expect(sorted(keyed)).toEqual(
      sorted([
        { labels: { provider: 'keyed', key_label: '1', state: 'active' }, value: 0 },
        { labels: { provider: 'keyed', key_label: '1', state: 'cooling' }, value: 0 },
        { labels: { provider: 'keyed', key_label: '1', state: 'disabled' }, value: 1 },
        { labels: { provider: 'keyed', key_label: '2', state: 'active' }, value: 1 },
        { labels: { provider: 'keyed', key_label: '2', state: 'cooling' }, value: 0 },
        { labels: { provider: 'keyed', key_label: '2', state: 'disabled' }, value: 0 },
      ]),
    );
    expect(metrics).not.toContain(GOOD_KEY.slice(-4));
    expect(metrics).not.toContain(BAD_KEY.slice(-4));
  });

  it('has a health gauge per provider: 0 for the one down', () => {
    expectSeries(metrics, 'switchboard_provider_health', [
      ...['backup', 'flaky', 'keyed', 'limited', 'primary'].map((provider) => ({ labels: { provider }, value: 1 })),
      { labels: { provider: 'dead' }, value: 0 },
    ]);
  });

  it('labels requests, tokens and cost with the model and the app key', () => {
    expectSeries(metrics, 'switchboard_requests_total', [
      { labels: { provider: 'backup', model: 'beta-1', status: 'success', key: 'api-token' }, value: 2 },
      { labels: { provider: 'backup', model: 'other', status: 'error', key: 'api-token' }, value: 1 },
      { labels: { provider: 'flaky', model: 'gamma-1', status: 'success', key: 'api-token' }, value: 1 },
      { labels: { provider: 'keyed', model: 'epsilon-1', status: 'success', key: 'api-token' }, value: 1 },
      { labels: { provider: 'limited', model: 'delta-1', status: 'error', key: 'api-token' }, value: 1 },
      { labels: { provider: 'limited', model: 'delta-1', status: 'success', key: 'api-token' }, value: 1 },
    ]);
    const output = series(metrics, 'switchboard_tokens_total').filter((s) => s.labels.direction === 'output');
    expect(output.map((s) => s.labels).find((l) => l.provider === 'backup')).toEqual({
      provider: 'backup',
      model: 'beta-1',
      direction: 'output',
      key: 'api-token',
    });
    const latency = series(metrics, 'switchboard_response_seconds_count');
    expect(latency).toContainEqual({ labels: { provider: 'backup', model: 'beta-1', key: 'api-token' }, value: 2 });
  });
});

/** The caller's own trace, as a W3C `traceparent` names it: the request span must join it. */
const CALLER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';

describe('switchboard serve with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  const fakes: FakeServer[] = [];
  let collector: FakeCollector;
  let dataDir: string;
  let serve: ServeProcess;
  let spans: ReceivedSpan[];

  beforeAll(async () => {
    collector = await startFakeCollector();
    const primary = await startFakeOpenAI({
      apiKey: GOOD_KEY,
      models: ['alpha-1'],
      faults: faultSequence('server-error'),
    });
    const backup = await startFakeOpenAI({ apiKey: undefined, models: ['beta-1'], text: ANSWER });
    fakes.push(primary, backup);
    dataDir = mkdtempSync(join(tmpdir(), 'sb-serve-tracing-'));
    serve = await startServe(
      dataDir,
      {
        providers: {
          primary: upstream(primary, 'alpha-1', {
            api_key: GOOD_KEY,
            retry: { max_attempts: 1 },
            failover: { fallback_providers: ['backup'] },
          }),
          backup: upstream(backup, 'beta-1'),
        },
      },
      { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'switchboard-under-test' },
    );
    expect(await chat(serve, 'primary/alpha-1')).toEqual({ status: 200, provider: 'backup' });
    const traceparent = `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01`;
    expect(await chat(serve, 'backup/beta-1', { traceparent })).toEqual({ status: 200, provider: 'backup' });
    expect(await chat(serve, 'backup/beta-1', { traceparent: 'not-a-traceparent' })).toEqual({
      status: 200,
      provider: 'backup',
    });
    // Spans are sent in batches; stopping the server must flush what is left.
    const exited = new Promise((resolve) => serve.child.once('exit', resolve));
    serve.child.kill('SIGTERM');
    await exited;
    spans = collector.spans;
  }, 120_000);

  afterAll(async () => {
    if (serve?.child.exitCode === null) serve.child.kill('SIGKILL');
    await Promise.all([...fakes.map((f) => f.close()), collector?.close()]);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('exports one request span with a child span per upstream attempt', () => {
    const requests = spans.filter(
      (s) => s.name === 'switchboard.request' && s.attributes['gen_ai.request.model'] === 'primary/alpha-1',
    );
    expect(requests).toHaveLength(1);
    const request = requests[0]!;
    expect(request.parentSpanId).toBe('');
    expect(request.resource['service.name']).toBe('switchboard-under-test');
    expect(request.attributes).toMatchObject({
      'http.route': '/v1/chat/completions',
      'gen_ai.request.model': 'primary/alpha-1',
      'gen_ai.response.model': 'beta-1',
      'switchboard.provider': 'backup',
      'switchboard.outcome': 'success',
      'switchboard.fallback_depth': 1,
      'switchboard.attempts': 2,
      'switchboard.cost_usd': expect.any(Number),
    });
    expect(request.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(request.status.code).not.toBe(2);
    expect(request.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'switchboard.fallback',
        {
          'switchboard.from_provider': 'primary',
          'switchboard.to_provider': 'backup',
          'error.type': 'PROVIDER_UNAVAILABLE',
        },
      ],
    ]);

    const attempts = spans
      .filter((s) => s.name === 'switchboard.attempt' && s.traceId === request.traceId)
      .sort(
        (a, b) => Number(a.attributes['switchboard.attempt.index']) - Number(b.attributes['switchboard.attempt.index']),
      );
    expect(attempts).toHaveLength(2);
    for (const attempt of attempts) {
      expect(attempt.traceId).toBe(request.traceId);
      expect(attempt.parentSpanId).toBe(request.spanId);
      expect(attempt.kind).toBe(3);
    }
    const [first, second] = attempts;
    expect(first!.attributes).toEqual({
      'switchboard.provider': 'primary',
      'gen_ai.request.model': 'alpha-1',
      'switchboard.attempt.index': 0,
      'switchboard.attempt.retry': 0,
      'switchboard.attempt.fallback_depth': 0,
      'switchboard.key.id': `…${GOOD_KEY.slice(-4)}`,
      'switchboard.outcome': 'error',
      'http.response.status_code': 500,
      'error.type': 'PROVIDER_UNAVAILABLE',
      'switchboard.attempt.next': 'next',
    });
    expect(first!.status).toEqual({ code: 2, message: 'PROVIDER_UNAVAILABLE' });
    expect(second!.attributes).toEqual({
      'switchboard.provider': 'backup',
      'gen_ai.request.model': 'beta-1',
      'switchboard.attempt.index': 1,
      'switchboard.attempt.retry': 0,
      'switchboard.attempt.fallback_depth': 1,
      'switchboard.outcome': 'success',
    });
  });

  it("joins the caller's trace when the request carries a traceparent, and starts its own on a malformed one", () => {
    const joined = spans.filter((s) => s.traceId === CALLER_TRACE_ID);
    const request = joined.find((s) => s.name === 'switchboard.request');
    expect(request?.parentSpanId).toBe(CALLER_SPAN_ID);
    expect(request?.attributes['gen_ai.request.model']).toBe('backup/beta-1');
    const attempt = joined.find((s) => s.name === 'switchboard.attempt');
    expect(attempt?.parentSpanId).toBe(request?.spanId);

    const others = spans.filter((s) => s.name === 'switchboard.request' && s.traceId !== CALLER_TRACE_ID);
    expect(others).toHaveLength(2);
    for (const own of others) expect(own.parentSpanId).toBe('');
  });

  it('sends no key, no prompt and no answer', () => {
    const sent = collector.bodies.join('\n');
    expect(sent).toContain('switchboard.request');
    expect(sent).not.toContain(GOOD_KEY);
    expect(sent).not.toContain(PROMPT);
    expect(sent).not.toContain(ANSWER);
    expect(sent).not.toContain(TOKEN);
  });
});
