/**
 * Soak test (not in CI): Switchboard under steady load for a long time, its resident memory read
 * every minute, to show it does not grow without bound.
 *
 *   npx node bench/gateway/soak.ts [--minutes 30] [--clients 10]
 */
import { parseArgs } from 'node:util';
import { type LoadResult, runLoad, type Target } from './load.ts';
import { BENCH_TOKEN, startChild, stopChildren } from './processes.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '30' }, clients: { type: 'string', default: '10' } },
});
const minutes = Number(values.minutes);
const clients = Number(values.clients);

const upstream = await startChild('./upstream.ts');
const switchboard = await startChild('./switchboard.ts', [upstream.url, BENCH_TOKEN]);
process.on('exit', () => {
  upstream.process.kill('SIGKILL');
  switchboard.process.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

/** Asks the Switchboard process for its RSS (it answers `RSS <bytes>` on stdout). */
function rss(): Promise<number> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      const match = /RSS (\d+)/.exec(chunk.toString());
      if (!match) return;
      switchboard.process.stdout!.off('data', onData);
      resolve(Number(match[1]));
    };
    switchboard.process.stdout!.on('data', onData);
    switchboard.process.stdin!.write('rss\n');
  });
}

const target: Target = {
  name: 'switchboard',
  url: switchboard.url,
  pid: switchboard.process.pid,
  model: 'upstream/bench-model',
  headers: { authorization: `Bearer ${BENCH_TOKEN}` },
};
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const readings: { minute: number; rssBytes: number; minuteLoad: LoadResult }[] = [];
process.stdout.write(`| minute | RSS (MB) | requests | errors | p99 (ms) |\n|---|---|---|---|---|\n`);
process.stdout.write(`| 0 | ${mb(await rss())} | – | – | – |\n`);
for (let minute = 1; minute <= minutes; minute++) {
  // Half of each minute non-streaming, half streaming.
  const plain = await runLoad(target, { concurrency: clients, durationMs: 30_000, stream: false });
  const streamed = await runLoad(target, { concurrency: clients, durationMs: 30_000, stream: true });
  const minuteLoad: LoadResult = {
    ...plain,
    requests: plain.requests + streamed.requests,
    errors: plain.errors + streamed.errors,
    p99: Math.max(plain.p99, streamed.p99),
  };
  const rssBytes = await rss();
  readings.push({ minute, rssBytes, minuteLoad });
  process.stdout.write(
    `| ${minute} | ${mb(rssBytes)} | ${minuteLoad.requests} | ${minuteLoad.errors} | ${minuteLoad.p99.toFixed(1)} |\n`,
  );
}
const first = readings[0]!;
const last = readings.at(-1)!;
const total = readings.reduce((sum, r) => sum + r.minuteLoad.requests, 0);
process.stdout.write(
  `\n${total} requests in ${minutes} min; RSS ${mb(first.rssBytes)} MB after minute 1, ${mb(last.rssBytes)} MB at the end (peak ${mb(Math.max(...readings.map((r) => r.rssBytes)))} MB).\n`,
);
await stopChildren([switchboard, upstream]);
process.exit(0);
