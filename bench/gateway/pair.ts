/**
 * A paired A/B of the latency one client meets: direct, the node floor, Switchboard and Switchboard as
 * built in other checkouts (`--also <label>=<checkout>`, a checkout may be named twice under two labels:
 * two processes of one build differ by up to about 0.02 ms), one client at a time, short slices taken in
 * turn for a number of rounds (the order reversed every other round). Per target: the median over rounds
 * of its slice's p50 minus Switchboard's in the same round ("paired": the host's slow spells, which move
 * every target of a round alike, cancel out), its added p50 over direct, p50 / p99 over all its requests,
 * and main-thread CPU per request. `--floor-busy-poll` adds the node floor polling for a lone request as
 * Switchboard's server does.
 *
 *   npx node bench/gateway/pair.ts [--rounds 16] [--slice-ms 800] [--stream] [--floor-busy-poll]
 *     [--also <label>=<checkout>]…
 */
import { parseArgs } from 'node:util';
import { type LoadResult, percentile, runLoad, warmUp } from './load.ts';
import { startTargets, stopChildren } from './processes.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '16' },
    'slice-ms': { type: 'string', default: '800' },
    stream: { type: 'boolean', default: false },
    also: { type: 'string', multiple: true, default: [] },
    'floor-busy-poll': { type: 'boolean', default: false },
  },
});
const stream = values.stream;

const { children, targets } = await startTargets(values.also, { floorBusyPoll: values['floor-busy-poll'] });
for (const target of targets) await warmUp(target, stream);
const slices = new Map<string, LoadResult[]>(targets.map((target) => [target.name, []]));
for (let round = 0; round < Number(values.rounds); round++) {
  for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
    const slice = await runLoad(target, { concurrency: 1, stream, durationMs: Number(values['slice-ms']) });
    slices.get(target.name)!.push(slice);
  }
}
await stopChildren(children);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const p50s = (name: string) => slices.get(name)!.map((slice) => slice.p50);
const lines = [
  `${stream ? 'streaming' : 'non-streaming'}, one client, ${values.rounds} rounds of ${values['slice-ms']} ms`,
  '',
  '| target | paired vs switchboard, p50 (ms) | added p50 (ms) | p50 / p99 (ms) | main-thread CPU ms / request | errors |',
  '|---|---|---|---|---|---|',
];
for (const target of targets) {
  const own = slices.get(target.name)!;
  const pairedWith = (name: string) => median(p50s(target.name).map((p50, round) => p50 - p50s(name)[round]!));
  const latencies = own.flatMap((slice) => slice.raw.latencies).sort((a, b) => a - b);
  const cpu = own.map((slice) => slice.mainThreadCpuMsPerRequest).filter((ms) => ms !== undefined);
  lines.push(
    `| ${target.name} | ${pairedWith('switchboard').toFixed(3)} | ${pairedWith('direct').toFixed(3)} | ` +
      `${percentile(latencies, 0.5).toFixed(3)} / ${percentile(latencies, 0.99).toFixed(3)} | ` +
      `${cpu.length > 0 ? median(cpu).toFixed(3) : '–'} | ${own.reduce((sum, slice) => sum + slice.errors, 0)} |`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
