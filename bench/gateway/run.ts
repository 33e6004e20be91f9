/**
 * Gateway benchmark: the same load sent to a fast fake upstream directly, through Switchboard and
 * through @portkey-ai/gateway, in one run. Reports the latency each gateway adds (one client at a
 * time, so queueing does not hide it) and the requests per second each sustains (50 clients), for
 * non-streaming and streaming chat completions.
 *
 *   npx node bench/gateway/run.ts [--seconds 10] [--json] [--also <label>=<checkout>]…
 *
 * `--also` adds Switchboard as built from another checkout (a `git archive` of an earlier commit with
 * node_modules linked in), so a change is measured before/after in the same run, under the same load.
 */
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type LoadResult, runLoad, type Target } from './load.ts';
import { BENCH_TOKEN, type Child, startChild, startPortkey, UPSTREAM_KEY } from './processes.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    'latency-seconds': { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
    also: { type: 'string', multiple: true, default: [] },
  },
});
const loadMs = Number(values.seconds) * 1000;
const latencyMs = Number(values['latency-seconds']) * 1000;
const CONCURRENCY = 50;

const children: Child[] = [];
process.on('exit', () => {
  for (const child of children) child.process.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

const upstream = await startChild('./upstream.ts');
children.push(upstream);
const switchboard = await startChild('./switchboard.ts', [upstream.url, BENCH_TOKEN]);
children.push(switchboard);
const others: { label: string; child: Child }[] = [];
for (const also of values.also) {
  const [label, checkout] = also.split('=');
  if (!label || !checkout) throw new Error(`--also wants <label>=<checkout>, not "${also}"`);
  const entry = pathToFileURL(resolve(checkout, 'bench/gateway/switchboard.ts')).href;
  const child = await startChild(entry, [upstream.url, BENCH_TOKEN]);
  children.push(child);
  others.push({ label, child });
}
const portkey = await startPortkey();
children.push(portkey);

const targets: Target[] = [
  {
    name: 'direct',
    url: upstream.url,
    pid: upstream.process.pid,
    model: 'bench-model',
    headers: { authorization: `Bearer ${UPSTREAM_KEY}` },
  },
  {
    name: 'switchboard',
    url: switchboard.url,
    pid: switchboard.process.pid,
    model: 'upstream/bench-model',
    headers: { authorization: `Bearer ${BENCH_TOKEN}` },
  },
  ...others.map(({ label, child }) => ({
    name: label,
    url: child.url,
    pid: child.process.pid,
    model: 'upstream/bench-model',
    headers: { authorization: `Bearer ${BENCH_TOKEN}` },
  })),
  {
    name: 'portkey',
    url: portkey.url,
    pid: portkey.process.pid,
    model: 'bench-model',
    headers: {
      authorization: `Bearer ${UPSTREAM_KEY}`,
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `${upstream.url}/v1`,
    },
  },
];

interface Row {
  mode: 'non-streaming' | 'streaming';
  target: string;
  single: LoadResult;
  loaded: LoadResult;
}
const rows: Row[] = [];
for (const stream of [false, true]) {
  for (const target of targets) {
    // Warm up (JIT, connection pools) before anything counts.
    await runLoad(target, { concurrency: CONCURRENCY, durationMs: 1_500, stream });
    const single = await runLoad(target, { concurrency: 1, durationMs: latencyMs, stream });
    const loaded = await runLoad(target, { concurrency: CONCURRENCY, durationMs: loadMs, stream });
    rows.push({ mode: stream ? 'streaming' : 'non-streaming', target: target.name, single, loaded });
    process.stderr.write(
      `${rows.at(-1)!.mode} ${target.name}: ${loaded.requestsPerSecond.toFixed(0)} req/s, ${single.p50.toFixed(3)} ms p50 alone` +
        `${loaded.errors + single.errors ? `, ${loaded.errors + single.errors} errors` : ''}\n`,
    );
  }
}
for (const child of children) child.stop();

const fmt = (n: number | undefined, digits = 2) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));
const lines: string[] = [];
for (const mode of ['non-streaming', 'streaming'] as const) {
  const direct = rows.find((r) => r.mode === mode && r.target === 'direct')!;
  const portkeyRow = rows.find((r) => r.mode === mode && r.target === 'portkey')!;
  lines.push(
    '',
    `**${mode}**`,
    '',
    '| target | added p50 (ms, 1 client) | added p99 (ms, 1 client) | own time p50 / p99 (ms) | CPU ms / request | req/s (50 clients) | p50 / p99 at 50 clients (ms) | req/s vs Portkey | errors |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const row of rows.filter((r) => r.mode === mode)) {
    const isDirect = row.target === 'direct';
    lines.push(
      `| ${row.target} | ${isDirect ? `(${fmt(row.single.p50, 3)} total)` : fmt(row.single.p50 - direct.single.p50, 3)} | ${isDirect ? `(${fmt(row.single.p99, 3)} total)` : fmt(row.single.p99 - direct.single.p99, 3)} | ${row.single.overheadP50 === undefined ? '–' : `${fmt(row.single.overheadP50, 3)} / ${fmt(row.single.overheadP99, 3)}`} | ${fmt(row.loaded.cpuMsPerRequest, 3)} | ${fmt(row.loaded.requestsPerSecond, 0)} | ${fmt(row.loaded.p50)} / ${fmt(row.loaded.p99)} | ${isDirect ? '–' : portkeyRow.loaded.requests === 0 ? 'Portkey failed' : `${fmt(row.loaded.requestsPerSecond / portkeyRow.loaded.requestsPerSecond)}×`} | ${row.single.errors + row.loaded.errors} |`,
    );
  }
}
const machine = `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length} logical, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}, ${process.platform}`;
if (values.json)
  process.stdout.write(`${JSON.stringify({ machine, date: new Date().toISOString(), rows }, null, 2)}\n`);
else process.stdout.write(`Machine: ${machine}\nDate: ${new Date().toISOString()}\n${lines.join('\n')}\n`);
process.exit(0);
