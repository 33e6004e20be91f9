/**
 * How long a `switchboard` command takes from the shell, start to exit:
 * `npx node bench/cli-start.ts [--runs 8] [--also <label>=<checkout>]…`.
 *
 * Each command runs as a person runs it (bin/switchboard.mjs in a process of its own, Node 22, a data dir
 * with a local-only setup and no model), in turn for every checkout, so before and after share the host's
 * noise. Wall time is what a person waits; CPU is the child's user+system time (/proc/self/stat's
 * cutime+cstime, in the kernel's 10 ms ticks), the figure contention blurs least. `serve` is timed until it
 * prints the URL it listens on (what `npm start` waits for), its CPU up to its exit after a SIGTERM then.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeResultsSection } from './results.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '8' },
    also: { type: 'string', multiple: true, default: [] },
  },
});
const RUNS = Number(values.runs);
const HERE = resolve(import.meta.dirname, '..');
const checkouts = [
  { label: 'this checkout', root: HERE },
  ...values.also.map((also) => {
    const [label, root] = also.split('=');
    if (!label || !root) throw new Error(`--also wants <label>=<checkout>, not "${also}"`);
    return { label, root: resolve(root) };
  }),
];
const COMMANDS = [['--help'], ['providers', 'list'], ['usage'], ['chat', 'hello'], ['serve', '--port', '0']];
const LISTENING = /http:\/\/127\.0\.0\.1:\d+/;

/** Runs one command to its end (serve: until it listens, then stops it); its wall time until then. */
async function timed(root: string, command: string[]): Promise<number> {
  const args = [join(root, 'bin', 'switchboard.mjs'), '--data-dir', dataDir, ...command];
  const env = { ...process.env, NO_COLOR: '1' };
  const t0 = performance.now();
  if (command[0] !== 'serve') {
    const result = spawnSync(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    if (result.status !== 0)
      throw new Error(`switchboard ${command.join(' ')} exited ${result.status}: ${result.stderr}`);
    return performance.now() - t0;
  }
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((done) => child.once('exit', done));
  let printed = '';
  const wall = await new Promise<number>((listening, failed) => {
    const read = (chunk: Buffer) => {
      printed += chunk;
      if (LISTENING.test(printed)) listening(performance.now() - t0);
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => failed(new Error(`switchboard serve exited ${code} before it listened: ${printed}`)));
  });
  child.kill('SIGTERM');
  await exited;
  return wall;
}

/** CPU seconds of this process's finished children so far (utime and stime of the waited-for ones). */
function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  // After the ") ", field 3 (state) is index 0: cutime is field 16, cstime field 17.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const dataDir = mkdtempSync(join(tmpdir(), 'sb-cli-start-'));
const loadAtStart = loadavg()[0] ?? Number.NaN;
const started = new Date();
const samples = new Map<string, { wall: number[]; cpu: number[] }>();
try {
  for (let run = 0; run < RUNS + 1; run++) {
    for (const command of COMMANDS) {
      for (const { label, root } of checkouts) {
        const cpuBefore = childrenCpuMs();
        const wall = await timed(root, command);
        if (run === 0) continue; // the first round warms the file cache
        const key = `${label}\u0000${command.join(' ')}`;
        const entry = samples.get(key) ?? { wall: [], cpu: [] };
        entry.wall.push(wall);
        entry.cpu.push(childrenCpuMs() - cpuBefore);
        samples.set(key, entry);
      }
    }
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

const rows = COMMANDS.flatMap((command) =>
  checkouts.map(({ label }, index) => {
    const mine = samples.get(`${label}\u0000${command.join(' ')}`);
    const first = samples.get(`${checkouts[0]?.label}\u0000${command.join(' ')}`);
    const wall = median(mine?.wall ?? []);
    const ratio = index === 0 ? '—' : `${(wall / median(first?.wall ?? [])).toFixed(2)}×`;
    return `| \`switchboard ${command.join(' ')}\` | ${label} | ${wall.toFixed(0)} ms | ${median(mine?.cpu ?? []).toFixed(0)} ms | ${ratio} |`;
  }),
);
const section = `## CLI start: how long a command takes from the shell

\`npx node bench/cli-start.ts [--runs 8] [--also <label>=<checkout>]\` — each command run as a person runs it
(bin/switchboard.mjs, a process of its own, a data dir with a local-only setup and no model), in turn for
every checkout, after one warm-up round. Wall is what a person waits (median; \`serve\`: until it prints the
URL it listens on, what \`npm start\` waits for); CPU is the child's user+system time (median, 10 ms ticks;
\`serve\`: up to its exit after a SIGTERM). "÷ this checkout" is the other checkout's wall time over this one's.

### ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC

Machine: ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}; load average ${loadAtStart.toFixed(1)} at the start, ${(loadavg()[0] ?? Number.NaN).toFixed(1)} at the end; ${RUNS} runs each.

| command | checkout | wall | CPU | ÷ this checkout |
|---|---|---|---|---|
${rows.join('\n')}
`;
console.log(section);
await writeResultsSection('CLI start: how long a command takes from the shell', section);
