/**
 * What a request line costs `serve`: `npx node bench/logging.ts [--lines N] [--rounds R]`.
 *
 * The same request, logged N times per round by each way in alternating rounds of one run:
 * - `text line (before)`: the server's former log line, an ISO time and a redacted sentence written to the
 *   console (here /dev/null), no file;
 * - `JSON, console + file`: OpsLogger as `serve` runs in a pipe — a JSON line with every field, redacted, to
 *   the console (/dev/null) and the rotated file;
 * - `JSON, file only (--quiet)`;
 * - `pretty, console + file`: as on a terminal.
 * Each is timed until its file has been written (close), in wall and this process's CPU time per line.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { UsageEvent } from '../electron/engine/accounting/types.ts';
import { redactSecrets } from '../electron/engine/contract/errors.ts';
import { type LoggerOptions, OpsLogger, type RequestLogLine } from '../electron/engine/operations/logger.ts';
import { writeResultsSection } from './results.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const LINES = option('--lines', 20_000);
const ROUNDS = option('--rounds', 5);

const SECRETS = [
  'sb-token-0123456789abcdefghij',
  'sk-provider-key-one-000000000000',
  'sk-provider-key-two-111111111111',
];
const redact = (text: string) => redactSecrets(text, SECRETS);
const usage: UsageEvent = {
  id: 'u',
  time: Date.now(),
  kind: 'chat',
  providerId: 'openai',
  model: 'gpt-4o-mini',
  keyId: '…0000',
  profile: 'default',
  strategy: 'priority',
  inputTokens: 12,
  outputTokens: 48,
  tokensEstimated: false,
  costUsd: 0.0000306,
  latencyMs: 412,
  outcome: 'success',
  fallbackDepth: 1,
};
const line = (i: number): RequestLogLine => ({
  id: `3f0c9a4e-0b1d-4c55-9a51-${String(i).padStart(12, '0')}`,
  method: 'POST',
  route: '/v1/chat/completions',
  status: 200,
  latencyMs: 412.345,
  key: 'master',
  provider: 'openai',
  model: 'gpt-4o-mini',
  usage: [usage],
});

type Way = { name: string; run(dir: string): Promise<void> };
const devNull = () => createWriteStream('/dev/null');

function withLogger(options: Omit<LoggerOptions, 'redact' | 'file'>, file: boolean): Way['run'] {
  return async (dir) => {
    const console = devNull();
    const logger = new OpsLogger({
      ...options,
      console: options.console && { ...options.console, stream: console },
      file: file ? { path: join(dir, 'logs', 'serve.log'), maxBytes: 10 * 1024 * 1024, keep: 5 } : undefined,
      redact,
    });
    for (let i = 0; i < LINES; i++) logger.request(line(i));
    await logger.close();
    await new Promise((resolve) => console.end(resolve));
  };
}

const WAYS: Way[] = [
  {
    name: 'text line (before)',
    run: async () => {
      const console = devNull();
      for (let i = 0; i < LINES; i++) {
        const started = performance.now();
        const ms = (performance.now() - started + 412.345).toFixed(1);
        console.write(`${new Date().toISOString()} ${redact(`POST /v1/chat/completions 200 ${ms}ms openai`)}\n`);
      }
      await new Promise((resolve) => console.end(resolve));
    },
  },
  { name: 'JSON, console + file', run: withLogger({ console: { stream: process.stdout, format: 'json' } }, true) },
  { name: 'JSON, file only (--quiet)', run: withLogger({ quietRequests: true }, true) },
  { name: 'pretty, console + file', run: withLogger({ console: { stream: process.stdout, format: 'pretty' } }, true) },
];

const results = new Map<string, { wall: number[]; cpu: number[] }>(WAYS.map((w) => [w.name, { wall: [], cpu: [] }]));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (let round = 0; round < ROUNDS + 1; round++) {
  for (const way of WAYS) {
    const dir = mkdtempSync(join(tmpdir(), 'sb-bench-log-'));
    const cpu = process.cpuUsage();
    const started = performance.now();
    await way.run(dir);
    const wall = performance.now() - started;
    const used = process.cpuUsage(cpu);
    rmSync(dir, { recursive: true, force: true });
    // Round 0 warms the JIT and the file system up.
    if (round === 0) continue;
    results.get(way.name)!.wall.push((wall * 1000) / LINES);
    results.get(way.name)!.cpu.push((used.user + used.system) / LINES);
  }
}

const base = median(results.get(WAYS[0]!.name)!.cpu);
const rows = WAYS.map((way) => {
  const { wall, cpu } = results.get(way.name)!;
  return `| ${way.name} | ${median(wall).toFixed(1)} | ${median(cpu).toFixed(1)} | ${(median(cpu) / base).toFixed(1)}× |`;
});
const section = `## Logs: what a request line costs

\`npx node bench/logging.ts --lines ${LINES} --rounds ${ROUNDS}\` — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC,
${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)}
(a shared machine: compare the rows, which ran side by side in alternating rounds, not the absolute figures).
Per request line, median of ${ROUNDS} rounds of ${LINES} lines, timed until the file is written.

| way | wall µs/line | CPU µs/line | CPU vs the former text line |
|---|---|---|---|
${rows.join('\n')}

The former line had four fields and no file; a request line now has about fifteen, is checked against the
token and every provider key, and is also written to the rotated file. Two choices keep it this low: pino's
redact paths are explicit (wildcard paths such as \`*.apiKey\` cost about 12 µs a line here, five times the
rest of the formatting), and the lines of one turn of the event loop go to the file as one write
(rotating-file-stream makes one file write per chunk). Against a routed request's own CPU time (0.54 ms in the
pass-through run, see Gateway) a JSON line is a few percent; the pretty format is for a person at a terminal.
`;
process.stdout.write(section);
if (args.includes('--write')) await writeResultsSection('Logs: what a request line costs', section);
