import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { always, FAKE_OPENAI_KEY, type FakeServer, startFakeOpenAI } from '../fakes/providers.ts';
import { runCli, type ServedCli, serveCli, TEST_TOKEN, type TestDataDir, testDataDir } from '../support/cli.ts';
import { scriptsRun, startRedis, type TestRedis } from '../support/redis.ts';

/**
 * Two real `switchboard serve` processes on one data dir, sharing routing state through a real Redis
 * (SWITCHBOARD_REDIS_URL): what one counts, holds, opens or pins, the other sees.
 */

let redis: TestRedis;
let fake: FakeServer;
let failing: FakeServer;
let data: TestDataDir;
let a: ServedCli;
let b: ServedCli;

const provider = (base: FakeServer, models: string[], extra: Record<string, unknown> = {}) => ({
  type: 'openai',
  api_key: FAKE_OPENAI_KEY,
  base_url: `${base.url}/v1`,
  models,
  retry: { max_attempts: 1 },
  ...extra,
});

async function chat(server: ServedCli, model: string, headers: Record<string, string> = {}) {
  const response = await server.fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, max_tokens: 3, messages: [{ role: 'user', content: 'Say hello' }] }),
  });
  const body = (await response.json()) as { error?: { message: string } };
  return { status: response.status, provider: response.headers.get('x-switchboard-provider'), body };
}

beforeAll(async () => {
  redis = await startRedis();
  // Three words of answer: priced below at $0.10 an output token, every answer costs $0.30.
  fake = await startFakeOpenAI({
    models: ['rpm-model', 'lease-model', 'budget-model', 'rush-model', 'key-model', 'pin-model', 'breaker-model'],
    text: 'one two three',
  });
  failing = await startFakeOpenAI({ models: ['breaker-model'], faults: always('server-error') });
  data = testDataDir();
  const config = data.writeConfig({
    local: { enabled: false },
    strategy: 'sticky',
    providers: {
      limited: provider(fake, ['rpm-model'], { rate_limit: { requests_per_minute: 4, on_limit: 'skip' } }),
      leased: provider(fake, ['lease-model'], { rate_limit: { requests_per_minute: 200, on_limit: 'skip' } }),
      budgeted: provider(fake, ['budget-model'], { prices: { 'budget-model': { input: 0, output: 100_000 } } }),
      rushed: provider(fake, ['rush-model'], { prices: { 'rush-model': { input: 0, output: 100_000 } } }),
      keyed: provider(fake, ['key-model'], { prices: { 'key-model': { input: 0, output: 100_000 } } }),
      'pin-one': provider(fake, ['pin-model'], { priority: 1 }),
      'pin-two': provider(fake, ['pin-model'], { priority: 2 }),
      flaky: provider(failing, ['breaker-model'], { priority: 1 }),
      steady: provider(fake, ['breaker-model'], { priority: 2 }),
    },
    budgets: { providers: { budgeted: { daily: 1 }, rushed: { daily: 1 } }, hard_stop: 'refuse' },
  });
  const env = { SWITCHBOARD_REDIS_URL: redis.url };
  a = await serveCli(data, ['--config', config], env);
  b = await serveCli(data, ['--config', config], env);
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await Promise.all([fake?.close(), failing?.close(), redis?.close()]);
  data?.remove();
});

describe('two serve processes sharing one Redis', () => {
  it('say at start that their state is shared, and raise no per-process warning', () => {
    for (const server of [a, b]) {
      expect(server.output()).toMatch(/routing state: shared through Redis at redis:\/\/127\.0\.0\.1:\d+/);
      expect(server.output()).not.toMatch(/counted per process/);
    }
  });

  it('admit exactly 4 of 8 requests under an RPM limit of 4 between them', async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => chat(i % 2 === 0 ? a : b, 'rpm-model')));
    const statuses = replies.map((reply) => reply.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429, 429, 429]);
    expect(fake.requests.filter((request) => request.model === 'rpm-model')).toHaveLength(4);
  });

  /** Batch scripts the test Redis has run so far, read through a connection of the test's own. */
  async function scriptsSoFar(): Promise<number> {
    const admin = new Redis(redis.url);
    try {
      return await scriptsRun(admin);
    } finally {
      admin.disconnect();
    }
  }

  it('admit from leases far from an RPM limit of 200, and exactly 200 between them in the end', async () => {
    const served = () => fake.requests.filter((request) => request.model === 'lease-model').length;
    // Far from the limit, one after another: most admissions come from a lease, without a round trip.
    const before = await scriptsSoFar();
    for (let i = 0; i < 100; i++) expect((await chat(i % 2 === 0 ? a : b, 'lease-model')).status).toBe(200);
    // Without leases every admission is a round trip of its own: 206 scripts for these 100 requests with
    // leasing switched off, 35 with it (besides the writes gathered every 200 ms, which a slow machine has more of).
    expect(await scriptsSoFar()).toBeLessThan(before + 75);
    // Bursts up to and past the limit: never more than 200 pass (a refusal may come early while the other
    // instance holds an unused lease) ...
    let passed = 100;
    for (let wave = 0; wave < 7; wave++) {
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => chat(i % 2 === 0 ? a : b, 'lease-model')));
      passed += replies.filter((reply) => reply.status === 200).length;
    }
    expect(passed).toBeLessThanOrEqual(200);
    expect(served()).toBe(passed);
    // ... and once the leases are back (within 200 ms), what is left of the 200 passes, and not one more.
    await new Promise((resolve) => setTimeout(resolve, 500));
    let refusedAt = -1;
    for (let i = 0; refusedAt < 0 && i < 120; i++) {
      const reply = await chat(i % 2 === 0 ? a : b, 'lease-model');
      if (reply.status === 200) passed++;
      else refusedAt = i;
    }
    expect(passed).toBe(200);
    expect(served()).toBe(200);
    expect((await chat(a, 'lease-model')).status).toBe(429);
    expect((await chat(b, 'lease-model')).status).toBe(429);
  }, 60_000);

  it('keep a daily budget of $1 between them: three answers of $0.30, then both refuse', async () => {
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await chat(i % 2 === 0 ? a : b, 'budget-model'));
    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 402, 402, 402]);
    // The third answer's cost is booked as spent, or still held if its instance has not settled it yet.
    const [, used, held = '0'] =
      /daily budget of \$1\.00 past its limit \(\$(\d\.\d+) used(?:, \$(\d\.\d+) held)?/.exec(
        replies[3]!.body.error?.message ?? '',
      ) ?? [];
    expect(Number(used) + Number(held)).toBeCloseTo(0.9, 6);
  });

  /** 16 requests at once, half through each instance: at $0.30 each (estimate and answer alike), a $1 budget holds 3. */
  async function rush(model: string, headers: Record<string, string> = {}) {
    const replies = await Promise.all(Array.from({ length: 16 }, (_, i) => chat(i % 2 === 0 ? a : b, model, headers)));
    const passed = replies.filter((reply) => reply.status === 200);
    const refused = replies.filter((reply) => reply.status !== 200);
    expect(fake.requests.filter((request) => request.model === model)).toHaveLength(passed.length);
    return { passed, refused };
  }

  it('keep a daily budget of $1 under 16 concurrent requests: the check and the hold are one step', async () => {
    const { passed, refused } = await rush('rush-model');
    // Spend never passes the budget: no request passed the check before the others' holds counted.
    expect(passed.length * 0.3).toBeLessThanOrEqual(1);
    expect(passed).toHaveLength(3);
    for (const reply of refused) {
      expect(reply.status).toBe(402);
      expect(reply.body.error?.message).toMatch(/\(rushed\)'s daily budget of \$1\.00/);
    }
  });

  it('keep an app key’s daily budget of $1 under 16 concurrent requests on that key', async () => {
    const created = await runCli([...data.args, 'keys', 'create', 'rush-app', '--daily-budget', '1', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const { key } = JSON.parse(created.stdout) as { key: string };
    const { passed, refused } = await rush('key-model', { authorization: `Bearer ${key}` });
    expect(passed).toHaveLength(3);
    for (const reply of refused) {
      expect(reply.status).toBe(402);
      expect(reply.body.error?.message).toMatch(/app key "rush-app" has a daily budget of \$1\.00/);
    }
  });

  it('honour on one instance a pin made through the other', async () => {
    const assigned = (await chat(b, 'pin-model', { 'x-switchboard-user': 'alice' })).provider;
    expect(assigned).toMatch(/^pin-(one|two)$/);
    const other = assigned === 'pin-one' ? 'pin-two' : 'pin-one';
    const pin = await a.fetch(`/api/chat/force-provider?user_id=alice&provider_name=${other}`, { method: 'POST' });
    expect(pin.status).toBe(200);
    await expect
      .poll(async () => (await chat(b, 'pin-model', { 'x-switchboard-user': 'alice' })).provider, { timeout: 5_000 })
      .toBe(other);
  });

  it('skip on one instance a provider whose breaker opened on the other', async () => {
    // Five failures in a row open flaky's breaker on `a`; each request is still answered by steady.
    for (let i = 0; i < 5; i++) expect((await chat(a, 'breaker-model')).provider).toBe('steady');
    const triedBefore = failing.requests.length;
    expect(triedBefore).toBe(5);
    for (let i = 0; i < 3; i++) expect((await chat(b, 'breaker-model')).provider).toBe('steady');
    expect(failing.requests.length).toBe(triedBefore);
  });

  it('show the shared state in `providers status`', async () => {
    // The CLI reports the server that runs on the data dir (its token comes from the environment, as serve's did).
    const status = await runCli([...data.args, 'providers', 'status'], { SWITCHBOARD_API_TOKEN: TEST_TOKEN });
    expect(status.stderr).toMatch(/from the server running at/);
    expect(status.stdout).toMatch(/routing state: shared through Redis at redis:\/\/127\.0\.0\.1:\d+/);
  }, 90_000);

  it('answer every request while Redis is killed mid-run, say so once, and share again when it is back', async () => {
    const load = Array.from({ length: 12 }, (_, i) => i);
    const during = Promise.all(
      load.map(async (i) => {
        await new Promise((resolve) => setTimeout(resolve, i * 50));
        return chat(i % 2 === 0 ? a : b, 'pin-model');
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 150));
    await redis.kill();
    const replies = await during;
    expect(replies.map((reply) => reply.status)).toEqual(load.map(() => 200));
    for (const server of [a, b]) {
      await expect
        .poll(() => server.output(), { timeout: 10_000 })
        .toMatch(/routing state: Redis at .* is unreachable/);
      expect(server.output().match(/"event":"state.changed"[^\n]*is unreachable/g), server.output()).toHaveLength(1);
    }
    const down = await runCli([...data.args, 'providers', 'status'], { SWITCHBOARD_API_TOKEN: TEST_TOKEN });
    expect(down.stdout).toMatch(/routing state: Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable .*keeps its own/);
    await redis.start();
    for (const server of [a, b]) {
      await expect
        .poll(() => server.output().match(/routing state: shared through Redis/g)?.length ?? 0, { timeout: 15_000 })
        .toBe(2);
    }
    expect((await chat(a, 'pin-model')).status).toBe(200);
  }, 120_000);
});

describe('two serve processes on one data dir without Redis', () => {
  it('say at start that limits and budgets are per process', async () => {
    const alone = testDataDir();
    const first = await serveCli(alone);
    const second = await serveCli(alone);
    try {
      expect(second.output()).toMatch(
        new RegExp(
          `another switchboard serve \\(pid ${first.child.pid}, .*\\) runs on this data dir without shared state`,
        ),
      );
      expect(first.output()).not.toMatch(/counted per process/);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
      alone.remove();
    }
  }, 180_000);
});
