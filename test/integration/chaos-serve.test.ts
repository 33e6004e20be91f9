import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { always, type FakeServer, type Fault, type FaultPlan, faultMix, startFakeOpenAI } from '../fakes/providers.ts';
import { inPool, type ServeProcess, startServe, TOKEN } from './routing-harness.ts';

/**
 * Chaos through a real `switchboard serve`: three upstreams failing 30 % of requests at random — 429
 * with Retry-After, 500, 503, connection resets, streams cut before and in the middle of the text —
 * and a fourth that is dead (every connection reset). 5,000 requests, 20 at a time, half of them
 * streaming, with 100 requests the upstreams reject as invalid (a tool_choice naming no tool given)
 * mixed in as one block.
 */

const TEXTS: Record<string, string> = {
  alpha: 'Alpha answers: amber apples arrive at autumn after all.',
  bravo: 'Bravo answers: brown bears bake bread beside big boulders.',
  charlie: 'Charlie answers: calm cats chase cheerful crickets constantly.',
};
const REQUESTS = 5_000;
const CONCURRENCY = 20;
/** The requests the upstreams reject as invalid, mixed in as one block. */
const INVALID_FROM = 2_000;
const INVALID = 100;
const MAX_FAILURES = 10;
const RECOVERY_S = 1;
const ATTEMPTS = 3;

// 30 % in all. The wait of a 429 is short (retry-after-ms) so that a resting key comes back within a test.
const MIX = (): [Fault, number][] => [
  [{ kind: 'rate-limit', retryAfter: '1', retryAfterMs: 25 }, 0.06],
  ['server-error', 0.06],
  ['unavailable', 0.06],
  ['reset', 0.06],
  [{ kind: 'cut', afterChunks: 1 }, 0.03],
  [{ kind: 'cut', afterChunks: 3 }, 0.03],
];

/** As OpenAI does, a tool_choice that names a tool the request does not give is refused with a 400. */
function validating(plan: FaultPlan): FaultPlan {
  return (request) => {
    const body = request.body as
      | { tools?: { function: { name: string } }[]; tool_choice?: { function?: { name: string } } }
      | undefined;
    const chosen = body?.tool_choice?.function?.name;
    if (chosen && !body?.tools?.some((tool) => tool.function.name === chosen)) return 'bad-request';
    return plan(request);
  };
}

/** What makes a request invalid for the upstream, though well-formed for the gateway. */
const INVALID_PART = {
  tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }],
  tool_choice: { type: 'function', function: { name: 'missing' } },
};

const fakes = new Map<string, FakeServer>();
let dead: FakeServer;
let dataDir: string;
let serve: ServeProcess;

beforeAll(async () => {
  let seed = 21;
  for (const id of Object.keys(TEXTS)) {
    const faults = validating(faultMix(MIX(), { seed: seed++ }));
    fakes.set(id, await startFakeOpenAI({ apiKey: undefined, text: TEXTS[id], faults }));
  }
  dead = await startFakeOpenAI({ apiKey: undefined, text: 'never', faults: always('reset') });
  dataDir = mkdtempSync(join(tmpdir(), 'sb-chaos-serve-'));
  const upstream = (fake: FakeServer) => ({
    type: 'custom',
    base_url: `${fake.url}/v1`,
    default_model: 'gpt-4o-mini',
    health_check_interval: 0,
  });
  serve = await startServe(dataDir, {
    strategy: 'round_robin',
    retry: { max_attempts: ATTEMPTS, backoff_factor: 0.002 },
    failover: { max_failures: MAX_FAILURES, recovery_timeout: RECOVERY_S },
    providers: {
      ...Object.fromEntries([...fakes].map(([id, fake]) => [id, upstream(fake)])),
      delta: upstream(dead),
    },
  });
});

afterAll(async () => {
  if (serve?.child.exitCode === null) serve.child.kill('SIGKILL');
  await Promise.all([...fakes.values(), dead].map((f) => f?.close()));
  rmSync(dataDir, { recursive: true, force: true });
});

interface Outcome {
  index: number;
  stream: boolean;
  invalid: boolean;
  status: number;
  text: string;
  /** The stream's last frame was [DONE]. */
  done: boolean;
  /** The error frame or body, if any. */
  error?: { message: string; code?: string };
}

async function ask(index: number): Promise<Outcome> {
  const stream = index % 2 === 1;
  const invalid = index >= INVALID_FROM && index < INVALID_FROM + INVALID;
  const response = await fetch(`${serve.api}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      messages: [{ role: 'user', content: `Question ${index}?` }],
      stream,
      ...(invalid ? INVALID_PART : {}),
    }),
  });
  const outcome: Outcome = { index, stream, invalid, status: response.status, text: '', done: false };
  if (!stream || response.status !== 200) {
    const body = (await response.json()) as {
      choices?: { message: { content: string } }[];
      error?: { message: string; code?: string };
    };
    outcome.text = body.choices?.[0]?.message.content ?? '';
    outcome.error = body.error;
    outcome.done = body.choices !== undefined;
    return outcome;
  }
  const raw = await response.text();
  for (const frame of raw.split('\n\n')) {
    const data = frame
      .split('\n')
      .find((line) => line.startsWith('data: '))
      ?.slice(6);
    if (data === undefined) continue;
    if (outcome.done || outcome.error) throw new Error(`request ${index}: a frame after the end: ${data}`);
    if (data === '[DONE]') {
      outcome.done = true;
      continue;
    }
    const chunk = JSON.parse(data) as {
      choices?: { delta?: { content?: string } }[];
      error?: { message: string; code?: string };
    };
    if (chunk.error) outcome.error = chunk.error;
    else outcome.text += chunk.choices?.[0]?.delta?.content ?? '';
  }
  return outcome;
}

const chatsTo = (fake: FakeServer) => fake.requests.filter((r) => r.path.endsWith('/chat/completions')).length;

async function breakerOpens(): Promise<Record<string, number>> {
  const metrics = await (await fetch(`${serve.api}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const opens: Record<string, number> = {};
  for (const match of metrics.matchAll(/^switchboard_circuit_breaker_opens_total\{provider="([^"]+)"\} (\d+)/gm))
    opens[match[1]!] = Number(match[2]);
  return opens;
}

describe('chaos through switchboard serve', () => {
  it('5,000 requests over three flaky upstreams and a dead one: answers whole, streams whole or ended by an error frame', async () => {
    const started = Date.now();
    const outcomes = await inPool(REQUESTS, CONCURRENCY, ask);
    const elapsedS = (Date.now() - started) / 1000;
    const full = new Set(Object.values(TEXTS));
    const tally = { answered: 0, streamedWhole: 0, streamCut: 0, invalid: 0 };

    for (const o of outcomes) {
      if (o.invalid) {
        // The client's own mistake comes back to it as such, from the first upstream asked.
        expect(o.status, `invalid request ${o.index}`).toBe(400);
        tally.invalid++;
        continue;
      }
      if (!o.stream) {
        // Every non-streaming request is answered while any provider lives, with one provider's whole text.
        expect(o.status, `request ${o.index}: ${o.error?.message}`).toBe(200);
        expect(full.has(o.text), `request ${o.index}: spliced or partial answer: ${o.text}`).toBe(true);
        tally.answered++;
        continue;
      }
      expect(o.status, `stream ${o.index}: ${o.error?.message}`).toBe(200);
      if (o.done) {
        expect(full.has(o.text), `stream ${o.index}: spliced or partial answer: ${o.text}`).toBe(true);
        tally.streamedWhole++;
        continue;
      }
      // Not complete: then it ended with an error frame, and what came before it is the start of one
      // provider's text — never followed by another provider's, never repeated.
      expect(o.error, `stream ${o.index} ended with neither [DONE] nor an error frame: ${o.text}`).toBeDefined();
      expect(o.error!.message).toMatch(/incomplete|interrupted|cut|ended/i);
      const owners = Object.values(TEXTS).filter((t) => t.startsWith(o.text));
      expect(owners.length, `stream ${o.index}: spliced text: ${o.text}`).toBe(o.text ? 1 : 3);
      tally.streamCut++;
    }
    expect(tally.answered + tally.streamedWhole + tally.streamCut + tally.invalid).toBe(REQUESTS);
    expect(tally.invalid).toBe(INVALID);
    // Cuts after text had reached the client are the only streams that may end in an error.
    expect(tally.streamCut).toBeLessThan(REQUESTS * 0.05);

    // Every fault kind was exercised, and each flaky upstream took its share.
    const faults = new Set([...fakes.values()].flatMap((f) => f.requests.map((r) => r.fault)));
    for (const kind of ['rate-limit', 'server-error', 'unavailable', 'reset', 'cut', 'bad-request'])
      expect(faults).toContain(kind);
    for (const fake of fakes.values()) expect(chatsTo(fake)).toBeGreaterThan(REQUESTS / 5);

    // The dead upstream: the failures that opened its breaker (those already under way at most), then
    // one probe per recovery period.
    const deadBound = MAX_FAILURES + CONCURRENCY * ATTEMPTS + Math.ceil(elapsedS / RECOVERY_S) + 1;
    expect(chatsTo(dead)).toBeLessThanOrEqual(deadBound);
    expect(chatsTo(dead)).toBeLessThan(REQUESTS / 10);

    // The dead upstream's breaker opened. (A flaky one's may too, now and then: under concurrency fast
    // failures finish before slow successes, so MAX_FAILURES of them can come in a row by chance.)
    const opens = await breakerOpens();
    expect(opens.delta ?? 0).toBeGreaterThanOrEqual(1);

    // Invalid requests never count: 3 × MAX_FAILURES of them in a row to one upstream, one at a time so
    // nothing comes between them, leave its breaker as it was — had they counted, it would have opened.
    const before = (await breakerOpens()).alpha ?? 0;
    for (let i = 0; i < 3 * MAX_FAILURES; i++) {
      const reply = await fetch(`${serve.api}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'alpha/gpt-4o-mini',
          messages: [{ role: 'user', content: 'Look it up' }],
          ...INVALID_PART,
        }),
      });
      expect(reply.status).toBe(400);
    }
    expect((await breakerOpens()).alpha ?? 0).toBe(before);
  }, 600_000);
});
