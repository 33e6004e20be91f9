/**
 * Gateway benchmark: the same load sent to a fast fake upstream directly, through the node floor (floor.ts:
 * a bare node:http + undici pass-through, what any Node gateway adds on this host), through Switchboard and
 * through @portkey-ai/gateway, in one run. Reports the latency each gateway adds (one client at a
 * time, so queueing does not hide it) and the requests per second each sustains (50 clients), for
 * non-streaming and streaming chat completions.
 *
 *   npx node bench/gateway/run.ts [--seconds 10] [--json] [--also <label>=<checkout>]…
 *
 * `--also` adds Switchboard as built from another checkout (a `git archive` of an earlier commit with
 * node_modules linked in), so a change is measured before/after in the same run, under the same load.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import {
  type LoadResult,
  mergeLoads,
  type RateResult,
  runLoad,
  runPacedStreams,
  runRate,
  type StreamsResult,
  warmUp,
} from './load.ts';
import { startPortkey, startTargets, stopChildren, UPSTREAM_KEY } from './processes.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    'latency-seconds': { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
    also: { type: 'string', multiple: true, default: [] },
    'rate-seconds': { type: 'string', default: '3' },
    streams: { type: 'string', default: '256' },
  },
});
const rateMs = Number(values['rate-seconds']) * 1000;
/** Open-loop rates tried in turn (requests per second) until p99 reaches the bound. */
const RATES = [250, 500, 1000, 1500, 2000, 3000, 4000, 6000, 8000, 12000, 16000];
const RATE_P99_BOUND_MS = 20;
const STREAM_FRAMES = 20;
const STREAM_PACE_MS = 50;
const SETTLE_MS = 5_000;
const loadMs = Number(values.seconds) * 1000;
const latencyMs = Number(values['latency-seconds']) * 1000;
const CONCURRENCY = 50;
/** Turns the targets take at 50 clients, and alone (inTurns): alone the host's slow spells are often shorter than a second. */
const SLICES = 4;
const ALONE_SLICES = 8;
const loadAtStart = loadavg()[0]!;

const { children, upstream, targets } = await startTargets(values.also);
const portkey = await startPortkey();
children.push(portkey);
targets.push({
  name: 'portkey',
  url: portkey.url,
  pid: portkey.process.pid,
  model: 'bench-model',
  headers: {
    authorization: `Bearer ${UPSTREAM_KEY}`,
    'x-portkey-provider': 'openai',
    'x-portkey-custom-host': `${upstream.url}/v1`,
  },
});

interface Row {
  mode: 'non-streaming' | 'streaming';
  target: string;
  single: LoadResult;
  loaded: LoadResult;
}
/**
 * Each target's load in `slices` turns, the targets taking turns (in reverse order every other turn): the
 * host's load, which drifts over minutes on a shared machine, then falls on every target alike instead of
 * on whichever came first.
 */
async function inTurns(
  stream: boolean,
  concurrency: number,
  totalMs: number,
  slices: number,
): Promise<Map<string, LoadResult[]>> {
  const results = new Map<string, LoadResult[]>(targets.map((target) => [target.name, []]));
  for (let turn = 0; turn < slices; turn++) {
    for (const target of turn % 2 === 0 ? targets : [...targets].reverse()) {
      results.get(target.name)!.push(await runLoad(target, { concurrency, durationMs: totalMs / slices, stream }));
    }
  }
  return results;
}

const rows: Row[] = [];
for (const stream of [false, true]) {
  for (const target of targets) await warmUp(target, stream);
  const singles = await inTurns(stream, 1, latencyMs, ALONE_SLICES);
  const loads = await inTurns(stream, CONCURRENCY, loadMs, SLICES);
  for (const target of targets) {
    const alone = singles.get(target.name)!;
    const single = mergeLoads(alone);
    const loaded = mergeLoads(loads.get(target.name)!);
    rows.push({ mode: stream ? 'streaming' : 'non-streaming', target: target.name, single, loaded });
    // Each slice's p50 alone: on this host whole slices run slow while another guest is busy.
    process.stderr.write(
      `${rows.at(-1)!.mode} ${target.name}: ${loaded.requestsPerSecond.toFixed(0)} req/s, ${single.p50.toFixed(3)} ms p50 alone` +
        ` (slices: ${alone.map((slice) => slice.p50.toFixed(3)).join(' ')})` +
        `${loaded.errors + single.errors ? `, ${loaded.errors + single.errors} errors` : ''}\n`,
    );
  }
}

/**
 * Lets the machine settle before a target's open-loop search or its streams: the step before (direct's
 * overload, or Portkey's failing streams) must not leave work behind that lands on the next target's first
 * step. Measured alone, a target's first 250/s step after a pause matches its later ones.
 */
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/** The highest open-loop rate each target held with p99 under the bound (and no errors). */
const held: { target: string; steps: RateResult[]; best?: RateResult }[] = [];
for (const target of targets) {
  await settle();
  const steps: RateResult[] = [];
  for (const rate of RATES) {
    const step = await runRate(target, rate, rateMs);
    steps.push(step);
    process.stderr.write(`rate ${target.name} ${rate}/s: p99 ${step.p99.toFixed(1)} ms, ${step.errors} errors\n`);
    if (!(step.p99 < RATE_P99_BOUND_MS) || step.errors > 0) break;
  }
  const passed = steps.filter((step) => step.p99 < RATE_P99_BOUND_MS && step.errors === 0);
  held.push({ target: target.name, steps, best: passed.at(-1) });
}

/** Concurrent paced streams: how late the gateway makes each frame. */
const streamRows: { target: string; result: StreamsResult }[] = [];
for (const target of targets) {
  await settle();
  const result = await runPacedStreams(target, {
    streams: Number(values.streams),
    frames: STREAM_FRAMES,
    paceMs: STREAM_PACE_MS,
  });
  streamRows.push({ target: target.name, result });
  process.stderr.write(
    `streams ${target.name}: ${result.completed}/${result.streams} complete, frame delay p99 ${result.p99.toFixed(1)} ms, ${result.late} late\n`,
  );
}
await stopChildren(children);

const fmt = (n: number | undefined, digits = 2) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));
const lines: string[] = [];
for (const mode of ['non-streaming', 'streaming'] as const) {
  const direct = rows.find((r) => r.mode === mode && r.target === 'direct')!;
  const portkeyRow = rows.find((r) => r.mode === mode && r.target === 'portkey')!;
  const floorRow = rows.find((r) => r.mode === mode && r.target === 'node floor')!;
  lines.push(
    '',
    `**${mode}**`,
    '',
    '| target | added p50 (ms, 1 client) | added p99 (ms, 1 client) | over the node floor p50 / p99 (ms) | own time p50 / p99 (ms) | CPU ms / request: process, main thread | req/s (50 clients) | p50 / p99 at 50 clients (ms) | req/s vs Portkey | req/s vs node floor | errors |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const row of rows.filter((r) => r.mode === mode)) {
    const isDirect = row.target === 'direct';
    const overFloor =
      isDirect || row === floorRow
        ? '–'
        : `${fmt(row.single.p50 - floorRow.single.p50, 3)} / ${fmt(row.single.p99 - floorRow.single.p99, 3)}`;
    const vsFloor = isDirect ? '–' : `${fmt(row.loaded.requestsPerSecond / floorRow.loaded.requestsPerSecond)}×`;
    lines.push(
      `| ${row.target} | ${isDirect ? `(${fmt(row.single.p50, 3)} total)` : fmt(row.single.p50 - direct.single.p50, 3)} | ${isDirect ? `(${fmt(row.single.p99, 3)} total)` : fmt(row.single.p99 - direct.single.p99, 3)} | ${overFloor} | ${row.single.overheadP50 === undefined ? '–' : `${fmt(row.single.overheadP50, 3)} / ${fmt(row.single.overheadP99, 3)}`} | ${fmt(row.loaded.cpuMsPerRequest, 3)}, ${fmt(row.loaded.mainThreadCpuMsPerRequest, 3)} | ${fmt(row.loaded.requestsPerSecond, 0)} | ${fmt(row.loaded.p50)} / ${fmt(row.loaded.p99)} | ${isDirect ? '–' : portkeyRow.loaded.requests === 0 ? 'Portkey failed' : `${fmt(row.loaded.requestsPerSecond / portkeyRow.loaded.requestsPerSecond)}×`} | ${vsFloor} | ${row.single.errors + row.loaded.errors} |`,
    );
  }
}
lines.push(
  '',
  `**highest rate held with p99 < ${RATE_P99_BOUND_MS} ms** (open loop, non-streaming, ${rateMs / 1000} s per step, latency from when each request was due)`,
  '',
  '| target | highest rate held (req/s) | p50 / p99 there (ms) | first rate missed: p99 (ms), errors |',
  '|---|---|---|---|',
);
for (const row of held) {
  const missed = row.steps.find((step) => !(step.p99 < RATE_P99_BOUND_MS) || step.errors > 0);
  lines.push(
    `| ${row.target} | ${row.best ? row.best.rate : 'none'} | ${row.best ? `${fmt(row.best.p50)} / ${fmt(row.best.p99)}` : '–'} | ${missed ? `${missed.rate}/s: ${fmt(missed.p99)}, ${missed.errors}` : 'none missed'} |`,
  );
}
lines.push(
  '',
  `**${values.streams} concurrent streams** (a frame every ${STREAM_PACE_MS} ms, ${STREAM_FRAMES} frames each; delay = client read − upstream write)`,
  '',
  '| target | streams complete | frames | delay p50 / p99 / max (ms) | frames later than 50 ms |',
  '|---|---|---|---|---|',
);
for (const { target, result } of streamRows) {
  lines.push(
    `| ${target} | ${result.completed} / ${result.streams} | ${result.frames} | ${fmt(result.p50)} / ${fmt(result.p99)} / ${fmt(result.max)} | ${result.late} |`,
  );
}
const machine = `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length} logical, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}, ${process.platform}`;
if (values.json)
  process.stdout.write(
    `${JSON.stringify({ machine, date: new Date().toISOString(), rows, held, streams: streamRows }, (key, value) => (key === 'raw' ? undefined : value), 2)}\n`,
  );
else
  process.stdout.write(
    `Machine: ${machine}\nDate: ${new Date().toISOString()}; load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end\n${lines.join('\n')}\n`,
  );
process.exit(0);
