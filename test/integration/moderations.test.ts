import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';
import { type ServedCli, serveCli, type TestDataDir, testDataDir } from '../support/cli.ts';

/** OpenAI's moderation endpoint on a running `switchboard serve`, answered by a fake OpenAI on 127.0.0.1. */

let data: TestDataDir;
let serve: ServedCli;
let openai: FakeServer;

beforeAll(async () => {
  openai = await startFakeOpenAI({ text: 'unused' });
  data = testDataDir();
  const config = data.writeConfig({
    local: { enabled: false },
    providers: {
      moderator: {
        type: 'openai',
        api_key: FAKE_OPENAI_KEY,
        base_url: `${openai.url}/v1`,
        default_model: 'gpt-4o-mini',
      },
    },
  });
  serve = await serveCli({ ...data, args: [...data.args, '--config', config] });
}, 120_000);
afterAll(async () => {
  await serve?.stop();
  await openai?.close();
  data?.remove();
});

const moderate = (body: unknown) =>
  serve.fetch('/v1/moderations', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('POST /v1/moderations', () => {
  it('answers in OpenAI’s shape, one result per input, from a provider that moderates', async () => {
    const response = await moderate({ input: ['I will attack the castle', 'I will visit the castle'] });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-switchboard-provider')).toBe('moderator');
    const body = (await response.json()) as {
      id: string;
      model: string;
      results: { flagged: boolean; categories: Record<string, boolean>; category_scores: Record<string, number> }[];
    };
    expect(body.id).toMatch(/^modr-/);
    expect(body.model).toBe('omni-moderation-latest');
    expect(body.results.map((r) => r.flagged)).toEqual([true, false]);
    expect(body.results[0]!.categories.violence).toBe(true);
    expect(body.results[0]!.category_scores.violence).toBeGreaterThan(0.9);
    expect(body.results[1]!.category_scores.violence).toBeLessThan(0.1);
    const upstream = openai.requests.filter((r) => r.path === '/v1/moderations');
    expect(upstream.map((r) => (r.body as { input: string }).input)).toEqual(
      expect.arrayContaining(['I will attack the castle', 'I will visit the castle']),
    );

    const one = await moderate({ input: 'a calm sentence' });
    expect(((await one.json()) as { results: unknown[] }).results).toHaveLength(1);
  });

  it('refuses a body that is not OpenAI’s with a 400 naming the field', async () => {
    const bad = await moderate({ input: 42 });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('input');
  });
});
