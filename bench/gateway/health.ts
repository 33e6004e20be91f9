/**
 * Does one huge prompt to the local model stall the gateway? Switchboard serving stories260K (2,048-token
 * context) gets 2 MB prompts one after another while /health is asked every 10 ms; /health's latency is
 * compared with the same probe when the gateway is idle. Each prompt should be refused at once with 400
 * context_length_exceeded.
 *
 *   npx node bench/gateway/health.ts [--seconds 20] [--model <gguf>] [--also <label>=<checkout>]…
 *
 * `--also` runs the same against Switchboard built from another checkout, in the same run (that
 * checkout's bench/gateway/switchboard.ts must take the GGUF as its third argument: copy this one there).
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { percentile } from './load.ts';
import { BENCH_TOKEN, type Child, childrenKilledOnExit, REPO_ROOT, startChild, stopChildren } from './processes.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    model: { type: 'string', default: resolve(REPO_ROOT, '..', 'shared', 'models', 'gguf', 'stories260K.gguf') },
    also: { type: 'string', multiple: true, default: [] },
  },
});
const durationMs = Number(values.seconds) * 1000;
const PROMPT = 'We went through the release plan line by line, and then again. '.repeat(33_000);

const children = childrenKilledOnExit();

const upstream = await startChild('./upstream.ts');
children.push(upstream);
const gateways: { label: string; child: Child }[] = [];
for (const [label, entry] of [
  ['switchboard', './switchboard.ts'],
  ...values.also.map((also) => {
    const [name, checkout] = also.split('=');
    if (!name || !checkout) throw new Error(`--also wants <label>=<checkout>, not "${also}"`);
    return [name, pathToFileURL(resolve(checkout, 'bench/gateway/switchboard.ts')).href];
  }),
] as const) {
  const child = await startChild(entry, [upstream.url, BENCH_TOKEN, values.model]);
  children.push(child);
  gateways.push({ label, child });
}

async function chat(url: string, content: string): Promise<{ status: number; ms: number; code?: string }> {
  const started = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'stories260K', messages: [{ role: 'user', content }], max_tokens: 16 }),
  });
  const body = (await response.json()) as { error?: { code?: string } };
  return { status: response.status, ms: performance.now() - started, code: body.error?.code };
}

/** /health asked every 10 ms until `done` says stop: each answer's latency. */
async function probe(url: string, done: () => boolean): Promise<number[]> {
  const latencies: number[] = [];
  while (!done()) {
    const started = performance.now();
    await (await fetch(`${url}/health`)).text();
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return latencies.sort((a, b) => a - b);
}

const fmt = (n: number) => (Number.isNaN(n) ? '–' : n.toFixed(1));
const lines = [
  '| target | /health idle p50 / p99 / max (ms) | /health under 2 MB prompts p50 / p99 / max (ms) | probes | 2 MB prompts answered | answer status | answer time p50 / max (ms) |',
  '|---|---|---|---|---|---|---|',
];
const loadBefore = loadavg()[0]!;
for (const { label, child } of gateways) {
  const warm = await chat(child.url, 'Once upon a time');
  if (warm.status !== 200) throw new Error(`${label}: the local model did not answer (${warm.status} ${warm.code})`);
  const idleUntil = performance.now() + 3_000;
  const idle = await probe(child.url, () => performance.now() > idleUntil);
  const until = performance.now() + durationMs;
  const answers: Awaited<ReturnType<typeof chat>>[] = [];
  let stop = false;
  const [busy] = await Promise.all([
    probe(child.url, () => stop),
    (async () => {
      while (performance.now() < until) answers.push(await chat(child.url, PROMPT));
      stop = true;
    })(),
  ]);
  const times = answers.map((a) => a.ms).sort((a, b) => a - b);
  const statuses = [...new Set(answers.map((a) => `${a.status}${a.code ? ` ${a.code}` : ''}`))].join(', ');
  lines.push(
    `| ${label} | ${fmt(percentile(idle, 0.5))} / ${fmt(percentile(idle, 0.99))} / ${fmt(idle.at(-1)!)} | ${fmt(percentile(busy, 0.5))} / ${fmt(percentile(busy, 0.99))} / ${fmt(busy.at(-1) ?? Number.NaN)} | ${busy.length} | ${answers.length} | ${statuses} | ${fmt(percentile(times, 0.5))} / ${fmt(times.at(-1) ?? Number.NaN)} |`,
  );
  process.stderr.write(`${lines.at(-1)}\n`);
}
await stopChildren(children);
process.stdout.write(
  `Date: ${new Date().toISOString()}; load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end; prompt ${(PROMPT.length / 1e6).toFixed(2)} MB\n\n${lines.join('\n')}\n`,
);
process.exit(0);
