import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  always,
  FAKE_ANTHROPIC_KEY,
  FAKE_OPENAI_KEY,
  type FakeServer,
  startFakeAnthropic,
  startFakeOpenAI,
  startFloodingOpenAI,
} from '../fakes/providers.ts';
import { readElsewhere } from '../unit/store/helpers.ts';
import { custom, type Gateway, startGateway, TOKEN, Upstreams } from './routing-harness.ts';

/**
 * The pass-through path as a client of the local API meets it: a request in the protocol its upstream
 * speaks goes out as the client wrote it (only the model rewritten) and its answer comes back as the
 * upstream wrote it, with the routing pipeline (fallback, accounting) still in charge.
 */

const upstreams = new Upstreams();
const others: FakeServer[] = [];
let gateway: Gateway | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await upstreams.close();
  await Promise.all(others.splice(0).map((fake) => fake.close()));
});

async function open(config: Record<string, unknown>): Promise<Gateway> {
  gateway = await startGateway(config);
  return gateway;
}

/** A vendor's extension of the answers: nothing Switchboard knows of. */
const VENDOR_EXTRA = { system_fingerprint: 'fp_fake', x_vendor_trace: { region: 'eu-1', hops: [1, 2] } };

/** A request as a client may write it: odd spacing, fields in its own order, members Switchboard does not know. */
function clientBody(model: string, extra = ''): string {
  return `{ "messages": [{"role":"user","content":"Say hello"}],\n  "model" : "${model}", "temperature":0.50,${extra}
  "vendor_knob": {"depth": 3, "list": [1, 2.0]}, "logit_bias": {"50256": -100} }`;
}

async function post(
  sb: Gateway,
  path: string,
  body: string,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
) {
  return fetch(`${sb.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body,
    signal,
  });
}

/** The data of each SSE frame of a stream's text. */
function sseData(text: string): string[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => frame.replace(/^(?:event: .*\n)?data: /, ''));
}

function usageTotals(sb: Gateway) {
  return sb.services.store.usage.totals(0);
}

describe('OpenAI in, OpenAI-compatible upstream', () => {
  it('forwards the request bytes untouched but for the model, and the answer with fields Switchboard does not know', async () => {
    const up = await upstreams.start({ text: 'Hello there.', extra: VENDOR_EXTRA });
    const sb = await open({ providers: { up: custom(up) } });

    const sent = clientBody('up/gpt-4o-mini');
    const reply = await post(sb, '/v1/chat/completions', sent);
    expect(reply.status).toBe(200);
    const answer = await reply.json();
    expect(answer.choices[0].message.content).toBe('Hello there.');
    expect(answer.system_fingerprint).toBe('fp_fake');
    expect(answer.x_vendor_trace).toEqual({ region: 'eu-1', hops: [1, 2] });
    // As every answer of the API does, it names the model as provider/model.
    expect(answer.model).toBe('up/gpt-4o-mini');
    expect(reply.headers.get('x-switchboard-provider')).toBe('up');

    const [received] = up.requests;
    expect(received!.text).toBe(sent.replace('"up/gpt-4o-mini"', '"gpt-4o-mini"'));
    // The fake's usage, not an estimate from sizes.
    const totals = usageTotals(sb);
    expect(totals.requests).toBe(1);
    expect([totals.inputTokens, totals.outputTokens]).toEqual([
      answer.usage.prompt_tokens,
      answer.usage.completion_tokens,
    ]);
  });

  it("a stream's usage is accounted for when the client did not ask for it, and the client never sees that chunk", async () => {
    const up = await upstreams.start({ text: 'One two three four.', extra: VENDOR_EXTRA });
    const sb = await open({ providers: { up: custom(up) } });

    const reply = await post(sb, '/v1/chat/completions', clientBody('up/gpt-4o-mini', ' "stream": true,'));
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const frames = sseData(await reply.text());
    expect(frames.at(-1)).toBe('[DONE]');
    const chunks = frames.slice(0, -1).map((data) => JSON.parse(data));
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('One two three four.');
    for (const chunk of chunks) {
      expect(chunk.choices).not.toEqual([]);
      expect(chunk.usage ?? null).toBeNull();
      expect(chunk.x_vendor_trace).toEqual({ region: 'eu-1', hops: [1, 2] });
      expect(chunk.model).toBe('up/gpt-4o-mini');
    }

    // The gateway asked for the usage chunk on the client's behalf…
    const [received] = up.requests;
    expect((received!.body as { stream_options?: unknown }).stream_options).toEqual({ include_usage: true });
    // …and booked what it said (the fake counts words: 4 in the answer; 'user', 'Say', 'hello' in the prompt),
    // not an estimate from sizes.
    const totals = usageTotals(sb);
    expect(totals.outputTokens).toBe(4);
    expect(totals.inputTokens).toBe(3);
  });

  it('a client that asked for usage gets the usage chunk as the upstream wrote it', async () => {
    const up = await upstreams.start({ text: 'One two.' });
    const sb = await open({ providers: { up: custom(up) } });
    const reply = await post(
      sb,
      '/v1/chat/completions',
      clientBody('up/gpt-4o-mini', ' "stream": true, "stream_options": {"include_usage": true},'),
    );
    const chunks = sseData(await reply.text())
      .slice(0, -1)
      .map((data) => JSON.parse(data));
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 2 } });
    expect(up.requests[0]!.text).toContain('"stream_options": {"include_usage": true}');
  });

  it('a client that leaves mid-stream aborts the upstream request', async () => {
    const up = await upstreams.start({ text: 'word '.repeat(200), tokenDelayMs: 50 });
    const sb = await open({ providers: { up: custom(up) } });
    const controller = new AbortController();
    const reply = await fetch(`${sb.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: clientBody('up/gpt-4o-mini', ' "stream": true,'),
      signal: controller.signal,
    });
    const reader = reply.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('chat.completion.chunk');
    controller.abort();
    // 200 words at 50 ms would take 10 s; the upstream sees its client (the gateway) go long before.
    await expect.poll(() => up.requests[0]!.closedEarly, { timeout: 5_000 }).toBe(true);
    // Booked once, as the client's doing, not the provider's failure.
    await expect.poll(() => usageTotals(sb).requests, { timeout: 5_000 }).toBe(1);
    expect(usageTotals(sb).errors).toBe(0);
  });

  it('a client that stops reading a stream holds its upstream back: Switchboard does not take the rest into memory', async () => {
    const flood = await startFloodingOpenAI({ frameBytes: 64 * 1024, totalBytes: 1024 * 1024 * 1024 });
    const sb = await open({ providers: { up: custom(flood) } });
    try {
      const reply = await post(sb, '/v1/chat/completions', clientBody('up/gpt-4o-mini', ' "stream": true,'));
      const reader = reply.body!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain('chat.completion.chunk');
      // The client reads no more. The upstream fills what the sockets between them hold, then waits.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const held = flood.written();
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(flood.written()).toBe(held);
      expect(held).toBeLessThan(256 * 1024 * 1024);
      // Read on, and the flood goes on: the stream was held, not dropped (a read would hang if it were not).
      while (flood.written() === held) expect((await reader.read()).done).toBe(false);
      await reader.cancel();
    } finally {
      await flood.close();
    }
  });

  it("books the request's row (interrupted until it settles) while the upstream is still working on it", async () => {
    const up = await upstreams.start({ text: 'never sent' });
    up.setFaults(always('hang'));
    const sb = await open({ providers: { up: custom(up) } });
    const file = join(sb.dataDir, 'switchboard.db');
    const rows = () => readElsewhere(file, 'SELECT provider_id, outcome FROM usage_events');
    const controller = new AbortController();
    const reply = post(sb, '/v1/chat/completions', clientBody('up/gpt-4o-mini'), {}, controller.signal);
    await expect.poll(() => up.requests.length, { timeout: 5_000 }).toBe(1);
    // The upstream has not answered, yet a crash now would leave the request on record.
    await expect.poll(rows, { timeout: 5_000 }).toEqual([{ provider_id: 'up', outcome: 'interrupted' }]);
    controller.abort();
    await reply.catch(() => {});
    // Settled as the client's doing: the same row, no second one.
    const settled = () => {
      sb.services.store.usage.flush();
      return rows();
    };
    await expect.poll(settled, { timeout: 5_000 }).toEqual([{ provider_id: 'up', outcome: 'cancelled' }]);
  });

  it('falls back to the next provider before the first byte, streaming or not', async () => {
    const broken = await upstreams.start({ text: 'never' });
    const standby = await upstreams.start({ text: 'From the standby.', extra: VENDOR_EXTRA });
    broken.setFaults(always('unavailable'));
    const sb = await open({
      providers: {
        broken: custom(broken, { priority: 1, retry: { max_attempts: 1 } }),
        standby: custom(standby, { priority: 2 }),
      },
    });

    const whole = await post(sb, '/v1/chat/completions', clientBody('gpt-4o-mini'));
    expect(whole.status).toBe(200);
    expect(whole.headers.get('x-switchboard-provider')).toBe('standby');
    expect(whole.headers.get('x-switchboard-fallback-depth')).toBe('1');
    expect((await whole.json()).system_fingerprint).toBe('fp_fake');

    const streamed = await post(sb, '/v1/chat/completions', clientBody('gpt-4o-mini', ' "stream": true,'));
    expect(streamed.headers.get('x-switchboard-provider')).toBe('standby');
    const frames = sseData(await streamed.text());
    expect(frames.at(-1)).toBe('[DONE]');
    expect(
      frames
        .slice(0, -1)
        .map((data) => JSON.parse(data).choices[0].delta.content ?? '')
        .join(''),
    ).toBe('From the standby.');
    expect(broken.requests.length).toBeGreaterThanOrEqual(2);
  });

  it("an error event in the upstream's stream falls back when it comes first, and ends the stream with an error frame after output", async () => {
    const flaky = await upstreams.start({ text: 'one two three four five' });
    const standby = await upstreams.start({ text: 'From the standby.' });
    flaky.setFaults(always({ kind: 'stream-error', afterChunks: 0 }));
    const sb = await open({
      providers: {
        flaky: custom(flaky, { priority: 1, retry: { max_attempts: 1 } }),
        standby: custom(standby, { priority: 2 }),
      },
    });
    const before = await post(sb, '/v1/chat/completions', clientBody('gpt-4o-mini', ' "stream": true,'));
    expect(before.headers.get('x-switchboard-provider')).toBe('standby');
    expect(await before.text()).toContain('standby');

    // Frames apart in time, so output has reached the client before the error comes (an error in the
    // same read as the first output still falls back: nothing has gone out).
    flaky.setTokenDelay(100);
    flaky.setFaults(always({ kind: 'stream-error', afterChunks: 3 }));
    const after = await post(sb, '/v1/chat/completions', clientBody('flaky/gpt-4o-mini', ' "stream": true,'));
    expect(after.headers.get('x-switchboard-provider')).toBe('flaky');
    const frames = sseData(await after.text());
    expect(frames.some((data) => data.includes('"content":"one "'))).toBe(true);
    // No silent replay elsewhere once text has gone out: the client is told the answer is incomplete.
    expect(JSON.parse(frames.at(-1)!).error.message).toMatch(/incomplete/);
    expect(frames).not.toContain('[DONE]');
  });

  it('falls back from a pass-through candidate to one that needs translation (Anthropic behind an OpenAI request)', async () => {
    const broken = await upstreams.start({ text: 'never' });
    broken.setFaults(always('server-error'));
    const claude = await startFakeAnthropic({ text: 'Translated answer.' });
    others.push(claude);
    const sb = await open({
      providers: {
        broken: custom(broken, { priority: 1, retry: { max_attempts: 1 }, models: ['shared-model'] }),
        claude: {
          type: 'anthropic',
          base_url: claude.url,
          api_key: FAKE_ANTHROPIC_KEY,
          models: ['shared-model', 'claude-haiku-4-5'],
          default_model: 'claude-haiku-4-5',
          priority: 2,
          health_check_interval: 0,
        },
      },
    });
    claude.models.push('shared-model');
    const reply = await post(sb, '/v1/chat/completions', clientBody('shared-model'));
    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-switchboard-provider')).toBe('claude');
    const answer = await reply.json();
    expect(answer.object).toBe('chat.completion');
    expect(answer.choices[0].message.content).toBe('Translated answer.');
  });
});

describe('OpenAI in, Azure OpenAI upstream', () => {
  it('goes to the deployment with its api-version and the api-key header, the bytes passed through', async () => {
    const azure = await startFakeOpenAI({ models: ['prod-gpt4o'], text: 'Answered by Azure.', extra: VENDOR_EXTRA });
    others.push(azure);
    const sb = await open({
      providers: {
        azure: {
          type: 'azure_openai',
          api_key: FAKE_OPENAI_KEY,
          endpoint: azure.url,
          deployment_name: 'prod-gpt4o',
          model: 'gpt-4o',
          health_check_interval: 0,
        },
      },
    });
    const reply = await post(sb, '/v1/chat/completions', clientBody('azure/gpt-4o', ' "stream": true,'));
    expect(reply.status).toBe(200);
    const text = await reply.text();
    expect(text).toContain('"x_vendor_trace"');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const [received] = azure.requests;
    expect(received!.path).toBe('/openai/deployments/prod-gpt4o/chat/completions');
    expect(received!.query['api-version']).toBeTruthy();
    expect(received!.headers['api-key']).toBe(FAKE_OPENAI_KEY);
    expect(received!.headers.authorization).toBeUndefined();
    expect(received!.text).toContain('"vendor_knob": {"depth": 3, "list": [1, 2.0]}');
  });
});

describe('Anthropic in, Anthropic upstream', () => {
  async function anthropicGateway(options: Parameters<typeof startFakeAnthropic>[0] = {}) {
    const claude = await startFakeAnthropic({ text: 'Hi from Claude.', extra: VENDOR_EXTRA, ...options });
    others.push(claude);
    const sb = await open({
      providers: {
        claude: {
          type: 'anthropic',
          base_url: claude.url,
          api_key: FAKE_ANTHROPIC_KEY,
          default_model: 'claude-haiku-4-5',
          health_check_interval: 0,
        },
      },
    });
    return { claude, sb };
  }

  const messagesBody = (extra = '') =>
    `{"model":"claude/claude-haiku-4-5","max_tokens":64,${extra}"messages":[{"role":"user","content":"Say hi"}],` +
    `"thinking":{"type":"enabled","budget_tokens":1024},"container":"ctr_123"}`;

  it('forwards the request bytes (model rewritten) and the protocol headers, and the answer as written', async () => {
    const { claude, sb } = await anthropicGateway();
    const sent = messagesBody();
    const reply = await post(sb, '/v1/messages', sent, { 'anthropic-beta': 'interleaved-thinking-2025-05-14' });
    expect(reply.status).toBe(200);
    const answer = await reply.json();
    expect(answer.type).toBe('message');
    expect(answer.content[0].text).toBe('Hi from Claude.');
    expect(answer.model).toBe('claude/claude-haiku-4-5');
    expect(answer.x_vendor_trace).toEqual({ region: 'eu-1', hops: [1, 2] });

    const [received] = claude.requests;
    expect(received!.text).toBe(sent.replace('"claude/claude-haiku-4-5"', '"claude-haiku-4-5"'));
    expect(received!.headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14');
    expect(received!.headers['anthropic-version']).toBe('2023-06-01');
    expect(received!.headers['x-api-key']).toBe(FAKE_ANTHROPIC_KEY);
    const totals = usageTotals(sb);
    expect([totals.inputTokens, totals.outputTokens]).toEqual([answer.usage.input_tokens, answer.usage.output_tokens]);
  });

  it("a model's own settings fill the fields the client left open, and only those, in the bytes passed on", async () => {
    const claude = await startFakeAnthropic({ text: 'Hi from Claude.' });
    others.push(claude);
    const sb = await open({
      providers: {
        claude: { type: 'anthropic', base_url: claude.url, api_key: FAKE_ANTHROPIC_KEY, health_check_interval: 0 },
      },
      model_options: { 'claude/claude-haiku-4-5': { temperature: 0.3, max_tokens: 999, system_prompt: 'Be kind.' } },
    });
    expect((await post(sb, '/v1/messages', messagesBody())).status).toBe(200);
    const received = JSON.parse(claude.requests[0]!.text) as Record<string, unknown>;
    expect(received).toMatchObject({ temperature: 0.3, max_tokens: 64, system: 'Be kind.', container: 'ctr_123' });
    expect(received.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });

    expect((await post(sb, '/v1/messages', messagesBody('"system":"Be brief.","temperature":0,'))).status).toBe(200);
    expect(JSON.parse(claude.requests[1]!.text)).toMatchObject({ system: 'Be brief.', temperature: 0 });
  });

  it('streams the named events as the upstream wrote them and books their usage', async () => {
    const { sb } = await anthropicGateway();
    const reply = await post(sb, '/v1/messages', messagesBody('"stream":true,'));
    expect(reply.status).toBe(200);
    const text = await reply.text();
    const events = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    expect(events[0]).toBe('message_start');
    expect(events.at(-1)).toBe('message_stop');
    expect(text).toContain('"x_vendor_trace":{"region":"eu-1","hops":[1,2]}');
    expect(text).toContain('"model":"claude/claude-haiku-4-5"');
    const deltas = sseData(text)
      .map((data) => JSON.parse(data))
      .filter((event) => event.type === 'content_block_delta')
      .map((event) => event.delta.text)
      .join('');
    expect(deltas).toBe('Hi from Claude.');
    expect(usageTotals(sb).outputTokens).toBe(3);
  });
});
