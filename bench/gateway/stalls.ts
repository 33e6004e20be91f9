/**
 * Stalls under a steady load: an open loop at one rate that a gateway holds with room to spare (1,000/s
 * by default), for long enough to meet what happens every few seconds (checkpoints, GC, timers), the
 * targets taking turns in slices after the warm-up. Per target: p50 / p99 / max, how many requests took
 * longer than 20 ms, and the episodes they came in (late requests due within 100 ms of each other): when
 * in its slice each began, how many requests it held, how long the worst took. A gateway that stalls its
 * event loop shows here as an episode every target does not have.
 *
 *   npx node bench/gateway/stalls.ts [--rate 1000] [--seconds 30] [--slices 5] [--also <label>=<checkout>]…
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { percentile, type RateResult, runRate, warmUp } from './load.ts';
import { startTargets, stopChildren } from './processes.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '30' },
    slices: { type: 'string', default: '5' },
    also: { type: 'string', multiple: true, default: [] },
  },
});
const rate = Number(values.rate);
const slices = Number(values.slices);
const sliceMs = (Number(values.seconds) * 1000) / slices;
const SLOW_MS = 20;
/** Late requests due this close together are one episode. */
const EPISODE_GAP_MS = 100;
const loadAtStart = loadavg()[0]!;

const { children, targets } = await startTargets(values.also);
for (const target of targets) await warmUp(target, false);

const results = new Map<string, RateResult[]>(targets.map((target) => [target.name, []]));
for (let slice = 0; slice < slices; slice++) {
  for (const target of slice % 2 === 0 ? targets : [...targets].reverse()) {
    const result = await runRate(target, rate, sliceMs, SLOW_MS);
    results.get(target.name)!.push(result);
    process.stderr.write(
      `slice ${slice + 1} ${target.name}: p99 ${result.p99.toFixed(2)} ms, max ${result.max.toFixed(1)} ms, ${result.slow.length} over ${SLOW_MS} ms\n`,
    );
  }
}
await stopChildren(children);

/** Runs of late requests: where in its slice each began, how many it held, its worst. */
function episodes(slow: RateResult['slow']): { atMs: number; requests: number; worstMs: number }[] {
  const found: { atMs: number; requests: number; worstMs: number; lastMs: number }[] = [];
  for (const { dueMs, ms } of slow) {
    const current = found.at(-1);
    if (current && dueMs - current.lastMs <= EPISODE_GAP_MS) {
      current.requests++;
      current.worstMs = Math.max(current.worstMs, ms);
      current.lastMs = dueMs;
    } else found.push({ atMs: dueMs, requests: 1, worstMs: ms, lastMs: dueMs });
  }
  return found.map(({ atMs, requests, worstMs }) => ({ atMs, requests, worstMs }));
}

const out: string[] = [
  `${new Date().toISOString()} · ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length} · Node ${process.version} · load ${loadAtStart.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`,
  '',
  `**${rate} requests/s, open loop, ${slices} slices of ${(sliceMs / 1000).toFixed(0)} s per target** (latency from when each request was due)`,
  '',
  `| target | requests | p50 / p99 / max (ms) | over ${SLOW_MS} ms | episodes: at (s into its slice) × requests, worst ms |`,
  '|---|---|---|---|---|',
];
for (const target of targets) {
  const runs = results.get(target.name)!;
  const latencies = runs.flatMap((run) => run.slow.map((late) => late.ms));
  const requests = runs.reduce((sum, run) => sum + run.requests, 0);
  const over = latencies.length;
  const p50s = runs.map((run) => run.p50).sort((a, b) => a - b);
  const p99s = runs.map((run) => run.p99).sort((a, b) => a - b);
  const max = Math.max(...runs.map((run) => run.max));
  const list = runs
    .flatMap((run, slice) =>
      episodes(run.slow).map(
        (e) => `${slice + 1}@${(e.atMs / 1000).toFixed(1)} × ${e.requests}, ${e.worstMs.toFixed(0)}`,
      ),
    )
    .join('; ');
  out.push(
    `| ${target.name} | ${requests} | ${percentile(p50s, 0.5).toFixed(2)} / ${p99s.at(-1)!.toFixed(2)} / ${max.toFixed(1)} | ${over} | ${list || '–'} |`,
  );
}
out.push('', `(p50: the median slice's; p99: the worst slice's.)`);
process.stdout.write(`${out.join('\n')}\n`);
process.exit(0);
