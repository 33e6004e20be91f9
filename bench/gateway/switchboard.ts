/**
 * Switchboard as `switchboard serve` runs it (the app's composition root, a real Engine and router,
 * the openai-compatible adapter), pointed at the benchmark's upstream. A child process: prints its
 * URL, then its RSS whenever asked on stdin (the soak test's reading), or with SWITCHBOARD_BENCH_TIMELINE=1
 * the median timeline of the requests since it was last asked (`timeline`: bench/gateway/timeline.ts).
 * Usage: switchboard.ts <upstream-url> <token> [<local gguf>] (with a GGUF, the local provider serves it)
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { createAppServices } from '../../electron/engine/bootstrap.ts';
import { resolvePaths } from '../../electron/engine/config/paths.ts';
import { createServer } from '../../electron/engine/server/server.ts';
import { startTimeline, timelineReport } from './timeline-probe.ts';

const [upstream, token, localModel] = process.argv.slice(2);
if (process.env.SWITCHBOARD_BENCH_TIMELINE) startTimeline();
if (!upstream || !token) throw new Error('usage: switchboard.ts <upstream-url> <token> [<local gguf>]');

const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
if (localModel) {
  // The local provider with this one model installed (linked, as `models import --link` does).
  mkdirSync(join(dataDir, 'models', 'gguf'), { recursive: true });
  symlinkSync(resolve(localModel), join(dataDir, 'models', 'gguf', basename(localModel)));
}
const config = join(dataDir, 'providers.yaml');
writeFileSync(
  config,
  stringify({
    local: { enabled: Boolean(localModel) },
    providers: {
      upstream: {
        type: 'custom',
        base_url: `${upstream}/v1`,
        api_key: 'sk-bench-upstream-key-0000',
        models: ['bench-model'],
        default_model: 'bench-model',
        // Health checks off: they would add requests the other gateways do not make.
        health_check_interval: 0,
      },
    },
  }),
);
// As `serve` opens it: SQLite's checkpoints on their worker thread.
const services = await createAppServices(resolvePaths({ dataDir, config }), { env: {}, checkpointOffThread: true });
const server = await createServer({ engine: services.engine, token, port: 0 });
process.stdout.write(`READY ${server.url}\n`);

process.stdin.setEncoding('utf8');
process.stdin.on('data', (command: string) => {
  if (command.startsWith('timeline')) process.stdout.write(`TIMELINE\n${timelineReport()}\nEND\n`);
  else process.stdout.write(`RSS ${process.memoryUsage().rss}\n`);
});
process.stdin.on('end', async () => {
  await server.close();
  await services.close();
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
});
