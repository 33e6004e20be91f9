/**
 * Where Switchboard's CPU goes on the gateway's hot path: the benchmark's upstream and Switchboard
 * (under --cpu-prof), a fixed load for a while, then the functions with the most self time on its main
 * thread while the load ran (start-up, warm-up and shutdown left out), and the profile file for Chrome
 * DevTools or speedscope.
 *
 *   npx node bench/gateway/profile.ts [--seconds 10] [--clients 10] [--stream] [--top 30] [--interval-us 1000]
 *
 * At one client take a short sampling interval that is not a round number (e.g. 53 µs): with the default
 * 1 ms a request cycle of about a millisecond aliases with the samples and skews the table.
 */

import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runLoad, warmUp } from './load.ts';
import { BENCH_TOKEN, type Child, startChild } from './processes.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    clients: { type: 'string', default: '10' },
    stream: { type: 'boolean', default: false },
    top: { type: 'string', default: '30' },
    'interval-us': { type: 'string', default: '1000' },
  },
});

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds on the monotonic clock, as process.hrtime here reads it. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const profileDir = mkdtempSync(join(tmpdir(), 'switchboard-profile-'));
const upstream = await startChild('./upstream.ts');
let switchboard: Child | undefined;
try {
  switchboard = await startChild(
    './switchboard.ts',
    [upstream.url, BENCH_TOKEN],
    ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-interval=${values['interval-us']}`],
  );
  const target = {
    name: 'switchboard',
    url: switchboard.url,
    pid: switchboard.process.pid,
    model: 'upstream/bench-model',
    headers: { authorization: `Bearer ${BENCH_TOKEN}` },
  };
  const options = { concurrency: Number(values.clients), stream: values.stream };
  await warmUp(target, values.stream);
  const loadStartUs = Number(process.hrtime.bigint() / 1000n);
  const load = await runLoad(target, { ...options, durationMs: Number(values.seconds) * 1000 });
  const loadEndUs = Number(process.hrtime.bigint() / 1000n);
  const exited = once(switchboard.process, 'exit');
  switchboard.stop();
  await exited;
  // One profile per thread: the main thread's is number 0 (CPU.<date>.<time>.<pid>.0.<seq>.cpuprofile).
  const main = `.${switchboard.process.pid}.0.`;
  const file = join(profileDir, readdirSync(profileDir).find((name) => name.includes(main))!);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const selfMs = new Map<number, number>();
  let sampledUs = profile.startTime;
  for (const [i, id] of profile.samples.entries()) {
    const deltaUs = profile.timeDeltas[i] ?? 0;
    sampledUs += deltaUs;
    if (sampledUs < loadStartUs || sampledUs > loadEndUs) continue;
    selfMs.set(id, (selfMs.get(id) ?? 0) + deltaUs / 1000);
  }
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^.*\/(node_modules|electron)\//, '$1/')}:${lineNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + (selfMs.get(node.id) ?? 0));
  }
  const total = [...byFunction.values()].reduce((sum, ms) => sum + ms, 0);
  const perRequest = (ms: number) => (ms / load.requests).toFixed(4);
  process.stdout.write(
    `${load.requests} ${values.stream ? 'streaming' : 'non-streaming'} requests at ${values.clients} clients, ` +
      `${load.cpuMsPerRequest?.toFixed(3)} CPU ms/request (main thread ${load.mainThreadCpuMsPerRequest?.toFixed(3)}); ` +
      `profile: ${file}\n\nself ms/request  share  function\n`,
  );
  for (const [name, ms] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
    process.stdout.write(`${perRequest(ms).padStart(15)}  ${((ms / total) * 100).toFixed(1).padStart(4)}%  ${name}\n`);
  }
} finally {
  switchboard?.process.kill('SIGKILL');
  upstream.process.kill('SIGKILL');
}
