/**
 * Switchboard as `switchboard serve` runs it (the app's composition root, a real Engine and router,
 * the openai-compatible adapter), pointed at the benchmark's upstream. A child process: prints its
 * URL, then its RSS whenever asked on stdin (the soak test's reading).
 * Usage: switchboard.ts <upstream-url> <token>
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createAppServices } from '../../electron/engine/bootstrap.ts';
import { resolvePaths } from '../../electron/engine/config/paths.ts';
import { createServer } from '../../electron/engine/server/server.ts';

const [upstream, token] = process.argv.slice(2);
if (!upstream || !token) throw new Error('usage: switchboard.ts <upstream-url> <token>');

const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
const config = join(dataDir, 'providers.yaml');
writeFileSync(
  config,
  stringify({
    local: { enabled: false },
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
const services = await createAppServices(resolvePaths({ dataDir, config }), { env: {} });
const server = await createServer({ engine: services.engine, token, port: 0 });
process.stdout.write(`READY ${server.url}\n`);

process.stdin.setEncoding('utf8');
process.stdin.on('data', () => {
  process.stdout.write(`RSS ${process.memoryUsage().rss}\n`);
});
process.stdin.on('end', async () => {
  await server.close();
  await services.close();
  process.exit(0);
});
