import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_LOG_FILE_BYTES,
  DEFAULT_LOG_FILES_KEPT,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevel,
  OpsLogger,
  secretsRedactor,
} from '../../operations/logger.ts';
import { findRunningServer, recordRunningServer } from '../../server/running.ts';
import { createServer } from '../../server/server.ts';
import { loadApiToken, loadSessionSecret } from '../../server/token.ts';
import type { CliContext } from '../context.ts';
import { onInterrupt } from '../interrupt.ts';

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
  logFormat?: LogFormat;
  logLevel: LogLevel;
  logFileSize: number;
  logFiles: number;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** `10M`, `512K`, `4096`: bytes. */
function parseSize(value: string): number {
  const match = /^(\d+)\s*([KMG]?)B?$/i.exec(value.trim());
  const bytes = match ? Number(match[1]) * SIZE_UNITS[match[2]!.toUpperCase()]! : 0;
  if (!(bytes > 0)) throw new InvalidArgumentError('give a size such as 10M, 512K or 65536 (bytes)');
  return bytes;
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError('give a whole number, 1 or more');
  return count;
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
    .option('--quiet', 'no request log lines (failed requests and operational events are still logged)')
    .addOption(
      new Option('--log-format <format>', 'log lines as JSON or readable (default: pretty on a terminal, else json)')
        .choices(LOG_FORMATS)
        .env('SWITCHBOARD_LOG_FORMAT'),
    )
    .addOption(
      new Option('--log-level <level>', 'the least severe lines logged')
        .choices(LOG_LEVELS)
        .default('info')
        .env('SWITCHBOARD_LOG_LEVEL'),
    )
    .addOption(
      new Option('--log-file-size <size>', 'rotate <data dir>/logs/serve.log past this size (10M, 512K, bytes)')
        .argParser(parseSize)
        .default(DEFAULT_LOG_FILE_BYTES, '10M')
        .env('SWITCHBOARD_LOG_FILE_SIZE'),
    )
    .addOption(
      new Option('--log-files <count>', 'rotated log files kept')
        .argParser(parseCount)
        .default(DEFAULT_LOG_FILES_KEPT)
        .env('SWITCHBOARD_LOG_FILES'),
    )
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
      // JSON lines on stderr (stdout keeps the two lines scripts read) and in the data dir's rotated file.
      const logger = new OpsLogger({
        level: options.logLevel,
        console: {
          stream: process.stderr,
          format: options.logFormat ?? (process.stderr.isTTY ? 'pretty' : 'json'),
          colors: process.stderr.isTTY && !process.env.NO_COLOR,
        },
        file: { path: join(dataDir, 'logs', 'serve.log'), maxBytes: options.logFileSize, keep: options.logFiles },
        quietRequests: options.quiet,
      });
      const services = await context.services({
        runQueue: true,
        watchConfig: true,
        checkpointOffThread: true,
        audioUrl: (meeting) => (meeting.audioFile ? `/api/app/audio/${encodeURIComponent(meeting.id)}` : null),
        // An alert the webhook never took is a line of the log, like the event itself.
        onAlertFailure: (message) => logger.note('error', 'alert.undelivered', message),
      });
      logger.redactWith(secretsRedactor(services.engine, token));
      // Breakers, keys, health, budgets and reloads (an edit that breaks providers.yaml leaves the last good
      // configuration serving): one line each, as GET /api/events streams them.
      const unsubscribe = services.operations.subscribe((record) => logger.operational(record));
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
        logger,
      });
      logger.note('info', 'serve.started', `listening on ${server.url}`, { url: server.url, pid: process.pid });
      if (!LOOPBACK.has(options.host)) {
        logger.note(
          'warn',
          'serve.exposed',
          `listening on ${options.host}: other machines can reach the API as ${options.allowHost.join(', ')} (every request still needs the token)`,
        );
      }
      const state = services.engine.status().state;
      if (state.backend === 'redis') logger.note('info', 'state.current', `routing state: ${state.message}`);
      // Losing and finding Redis again are operational events (state.changed): the ops log writes them.
      const other = findRunningServer(dataDir);
      if (other && !state.shared) {
        logger.note(
          'warn',
          'state.unshared',
          `another switchboard serve (pid ${other.pid}, ${other.url}) runs on this data dir without shared state: rate limits, budgets, breakers and pins are counted per process. Point both at one Redis (SWITCHBOARD_REDIS_URL, or state: {redis_url: …} in providers.yaml) to share them.`,
        );
      }
      const forgetServer = recordRunningServer(dataDir, server.url);
      process.stdout.write(`Switchboard API on ${server.url}/v1 (token: \`switchboard token\`)\n`);
      if (staticDir) process.stdout.write(`Open Switchboard: ${server.loginUrl()}\n`);
      else if (options.ui)
        logger.note('warn', 'serve.no_ui', `no UI at ${uiDir}: run \`npm run build\` to serve the app too`);
      await new Promise<void>((resolve) => onInterrupt(() => resolve(), ['SIGINT', 'SIGTERM']));
      forgetServer();
      await server.close();
      unsubscribe();
      logger.note('info', 'serve.stopped', 'stopped');
      await logger.close();
    });
}
