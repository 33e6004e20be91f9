/**
 * Where one request's time goes at one client: direct, through the node floor (floor.ts) and through
 * Switchboard, one client at a time, alternating; then Switchboard's median timeline inside its process
 * (timeline-probe.ts: arrival, body read, the usage reservation asked and committed, the upstream request
 * created and sent, its headers and end, the response finished).
 *
 *   npx node bench/gateway/timeline.ts [--seconds 4] [--stream]
 */
import { parseArgs } from 'node:util';
import { runLoad, type Target, warmUp } from './load.ts';
import {
  BENCH_TOKEN,
  childrenKilledOnExit,
  directTarget,
  floorTarget,
  startChild,
  stopChildren,
  switchboardTarget,
} from './processes.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '4' }, stream: { type: 'boolean', default: false } },
});
const durationMs = Number(values.seconds) * 1000;
const stream = values.stream;

const children = childrenKilledOnExit();
const upstream = await startChild('./upstream.ts');
children.push(upstream);
const floor = await startChild('./floor.ts', [upstream.url]);
children.push(floor);
process.env.SWITCHBOARD_BENCH_TIMELINE = '1';
const switchboard = await startChild('./switchboard.ts', [upstream.url, BENCH_TOKEN]);
children.push(switchboard);

const targets: Target[] = [directTarget(upstream), floorTarget(floor), switchboardTarget('switchboard', switchboard)];
for (const target of targets) await warmUp(target, stream);

/** Switchboard's timeline of the requests since it was last asked. */
function timeline(): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /TIMELINE\n([\s\S]*)\nEND\n/.exec(out);
      if (!match) return;
      switchboard.process.stdout!.off('data', onData);
      resolve(match[1]!);
    };
    switchboard.process.stdout!.on('data', onData);
    switchboard.process.stdin!.write('timeline\n');
  });
}
await timeline();

const lines = ['| target | p50 / p99 total (ms) | added p50 / p99 (ms) | CPU ms / request |', '|---|---|---|---|'];
const results = [];
for (const target of targets)
  results.push({ target, result: await runLoad(target, { concurrency: 1, durationMs, stream }) });
const direct = results[0]!.result;
for (const { target, result } of results) {
  lines.push(
    `| ${target.name} | ${result.p50.toFixed(3)} / ${result.p99.toFixed(3)} | ${target.name === 'direct' ? '–' : `${(result.p50 - direct.p50).toFixed(3)} / ${(result.p99 - direct.p99).toFixed(3)}`} | ${result.cpuMsPerRequest?.toFixed(3) ?? '–'} |`,
  );
}
const report = await timeline();
await stopChildren(children);
process.stdout.write(
  `${stream ? 'streaming' : 'non-streaming'}, one client\n\n${lines.join('\n')}\n\nSwitchboard's timeline: ${report}\n`,
);
process.exit(0);
