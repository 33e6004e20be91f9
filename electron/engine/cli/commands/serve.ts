import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { operationalLogLine } from '../../operations/log.ts';
import { findRunningServer, recordRunningServer } from '../../server/running.ts';
import { createServer } from '../../server/server.ts';
import { loadApiToken, loadSessionSecret } from '../../server/token.ts';
import type { CliContext } from '../context.ts';

/** The built renderer, where `npm run build` puts it. */
const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../../out/renderer', import.meta.url));
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

interface ServeOptions {
  host: string;
  allowHost: string[];
  port: string;
  uiDir?: string;
  ui: boolean;
  publicMetrics?: boolean;
  quiet?: boolean;
}

export function registerServeCommand(program: Command, context: CliContext): void {
  program
    .command('serve')
    .description('run the local OpenAI- and Anthropic-compatible API, and the app in the browser')
    .option(
      '--host <address>',
      'address to listen on; anything but 127.0.0.1 opens the API to the network',
      '127.0.0.1',
    )
    .option(
      '--allow-host <name>',
      'with --host beyond loopback: a host name clients use to reach this machine (repeat or comma-separate)',
      (value: string, names: string[]) => [...names, ...value.split(',')],
      [] as string[],
    )
    .option('--port <port>', 'port to listen on (0: any free port)', '7878')
    .option('--ui-dir <dir>', 'the built renderer to serve (default: out/renderer)')
    .option('--no-ui', 'serve the API only')
    .option('--public-metrics', 'serve /metrics without the token (for a local Prometheus)')
    .option('--quiet', 'no request log lines')
    .action(async (options: ServeOptions) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        throw new Error(`--port ${options.port} is not a port number`);
      if (!LOOPBACK.has(options.host) && options.allowHost.length === 0) {
        throw new Error(
          `--host ${options.host} needs --allow-host NAME: the host names clients use to reach this machine (requests addressed to any other name are refused, so no web page can reach the API by DNS rebinding)`,
        );
      }
      const { dataDir } = context.paths();
      const { token } = loadApiToken(dataDir);
      // The server runs the transcription queue (resuming jobs a crash cut short) and follows edits to
      // providers.yaml; the player loads meeting audio from the server.
      const services = await context.services({
        runQueue: true,
        watchConfig: true,
        audioUrl: (meeting) => (meeting.audioFile ? `/api/app/audio/${encodeURIComponent(meeting.id)}` : null),
      });
      const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
      // Breakers, keys, health, budgets and reloads (an edit that breaks providers.yaml leaves the last good
      // configuration serving): one JSON line each, as GET /api/events streams them.
      services.operations.subscribe((record) => process.stderr.write(`${operationalLogLine(record)}\n`));
      const uiDir = options.ui ? (options.uiDir ?? DEFAULT_UI_DIR) : undefined;
      const staticDir = uiDir && existsSync(uiDir) ? uiDir : undefined;
      const server = await createServer({
        engine: services.engine,
        operations: services.operations,
        token,
        sessionSecret: loadSessionSecret(dataDir),
        appKey: (secret) => services.store.appKeys.findBySecret(secret),
        host: options.host,
        allowedHosts: options.allowHost,
        port,
        staticDir,
        appApi: services.appApi,
        uploadsDir: services.uploadsDir,
        scratchDir: services.scratchDir,
        meetingAudioFile: (id) => services.queue.audioPathOf(id),
        metricsText: () => services.engine.reports.metricsText(),
        publicMetrics: options.publicMetrics,
        logger: { info: options.quiet ? () => {} : log, error: log },
      });
      if (!LOOPBACK.has(options.host)) {
        process.stderr.write(
          `Warning: listening on ${options.host}: other machines can reach the API as ${options.allowHost.join(', ')} (every request still needs the token).\n`,
        );
      }
      const state = services.engine.status().state;
      if (state.backend === 'redis') log(`routing state: ${state.message}`);
      // Losing and finding Redis again are operational events (state.changed): the ops log writes them.
      const other = findRunningServer(dataDir);
      if (other && !state.shared) {
        process.stderr.write(
          `Warning: another switchboard serve (pid ${other.pid}, ${other.url}) runs on this data dir without shared state: rate limits, budgets, breakers and pins are counted per process. Point both at one Redis (SWITCHBOARD_REDIS_URL, or state: {redis_url: …} in providers.yaml) to share them.\n`,
        );
      }
      const forgetServer = recordRunningServer(dataDir, server.url);
      process.stdout.write(`Switchboard API on ${server.url}/v1 (token: \`switchboard token\`)\n`);
      if (staticDir) process.stdout.write(`Open Switchboard: ${server.loginUrl()}\n`);
      else if (options.ui) process.stderr.write(`No UI at ${uiDir}: run \`npm run build\` to serve the app too.\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      forgetServer();
      await server.close();
    });
}
