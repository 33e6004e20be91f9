import { chmodSync, mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { type DestinationStream, type Level, type LevelWithSilent, multistream, pino, stdTimeFunctions } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import type { UsageEvent } from '../accounting/types.ts';
import { redactSecrets } from '../contract/errors.ts';
import { isWarning } from '../contract/operational-notices.ts';
import type { OperationalEventRecord } from '../contract/operations.ts';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogLevel = LevelWithSilent;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Past this size the log file is rotated: `serve.log` becomes `serve.log.1`, and so on. */
export const DEFAULT_LOG_FILE_BYTES = 10 * 1024 * 1024;
/** Rotated files kept beside the current one. */
export const DEFAULT_LOG_FILES_KEPT = 5;

export interface LogFileOptions {
  /** `<data dir>/logs/serve.log`: created 0600 in a 0700 folder. */
  path: string;
  maxBytes?: number;
  keep?: number;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** A terminal or pipe the lines also go to (serve: stderr), as JSON or in the readable format. */
  console?: { stream: { write(line: string): unknown }; format: LogFormat; colors?: boolean };
  file?: LogFileOptions;
  /**
   * Replaces secrets (the API token, provider keys) in every line before it is written: whatever field an
   * upstream's error text lands in, the key in it never reaches a terminal or a file. `redactWith` sets it
   * once the engine (and so the keys) exists.
   */
  redact?: (line: string) => string;
  /**
   * Request lines of answered requests (below 500) stay out of the console (`serve --quiet`); the file still
   * has them, and failures go everywhere.
   */
  quietRequests?: boolean;
}

/** One HTTP request, as the server saw it end: who asked, where it went, what it cost. */
export interface RequestLogLine {
  id: string;
  method: string;
  route: string;
  status: number;
  latencyMs: number;
  /** `master` (the API token), `session` (a browser signed in), an app key's name, or absent (public). */
  key?: string;
  appKeyId?: string;
  /** Where routing sent it, from the route headers or the settled usage event. */
  provider?: string;
  model?: string;
  /** The engine's usage events of this request (several for a comparison or a batch). */
  usage: readonly UsageEvent[];
  /** The problem a failed request answered with (already redacted). */
  error?: { code: string; message: string };
}

/**
 * Replaces every provider key (as configured now: a reload can add one) and the given secrets, such as the
 * API token, in a text with their masks: for log lines and for error bodies alike.
 */
export function secretsRedactor(
  engine: { readonly config: { readonly providers: readonly { readonly keys: readonly string[] }[] } },
  ...secrets: string[]
): (text: string) => string {
  return (text) => redactSecrets(text, [...secrets, ...engine.config.providers.flatMap((provider) => provider.keys)]);
}

/** What every line has of its own; an event's fields of the same name are written as `data_<name>`. */
const LINE_KEYS = new Set(['level', 'time', 'msg', 'event', 'id']);

/**
 * Fields that would carry credentials, censored by pino. Explicit paths only: wildcards cost pino about five
 * times a line's whole formatting (bench/logging.ts), and the redaction of every line catches a secret in
 * any field anyway.
 */
const SECRET_FIELDS = [
  'authorization',
  'apiKey',
  'api_key',
  'token',
  'secret',
  'headers.authorization',
  'headers["x-api-key"]',
];

/**
 * The one log of a process (`serve` or the desktop app): JSON lines with `level`, `time`, `event` and the
 * event's fields, for requests and for operational events, to a terminal and to a size-rotated file in the
 * data dir. pino writes them; this class decides what a line holds.
 */
export class OpsLogger {
  private readonly pino: pino.Logger;
  /** Where answered requests' lines go: everywhere, or only to the file when the console is quiet. */
  private readonly answered: pino.Logger;
  private readonly file?: LogFile;

  private redact: (line: string) => string;

  constructor(options: LoggerOptions) {
    this.redact = options.redact ?? ((line) => line);
    const console = options.console && { level: 'trace' as const, stream: consoleStream(options.console) };
    this.file = options.file && new LogFile(options.file);
    const file = this.file && { level: 'trace' as const, stream: this.file };
    const settings: pino.LoggerOptions = {
      level: options.level ?? 'info',
      base: undefined,
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: SECRET_FIELDS, censor: '[redacted]' },
      hooks: { streamWrite: (line) => this.redact(line) },
    };
    const to = (...streams: ({ level: Level; stream: DestinationStream } | undefined)[]) =>
      pino(settings, multistream(streams.filter((stream) => stream !== undefined)));
    this.pino = to(console, file);
    this.answered = options.quietRequests ? to(file) : this.pino;
  }

  /** From now on, lines are redacted with this (secretsRedactor of the engine that has been built). */
  redactWith(redact: (line: string) => string): void {
    this.redact = redact;
  }

  request(line: RequestLogLine): void {
    const fields: Record<string, unknown> = {
      event: 'request',
      id: line.id,
      method: line.method,
      route: line.route,
      status: line.status,
      latency_ms: Math.round(line.latencyMs * 10) / 10,
      key: line.key,
      app_key_id: line.appKeyId,
      ...usageFields(line.usage, line.provider, line.model),
    };
    if (line.error) Object.assign(fields, { error_code: line.error.code, error: line.error.message });
    const summary = `${line.method} ${line.route} ${line.status} ${fields.latency_ms}ms`;
    const message = fields.provider ? `${summary} ${fields.provider}` : summary;
    if (line.status >= 500) this.pino.error(fields, message);
    else this.answered.info(fields, message);
  }

  /** A routed request the desktop app made in-process (no HTTP): its usage event is the whole story. */
  usage(event: UsageEvent): void {
    this.pino[event.outcome === 'error' ? 'warn' : 'info'](
      { event: 'request', id: event.id, route: event.kind, outcome: event.outcome, ...usageFields([event]) },
      `${event.kind} ${event.outcome} ${event.providerId}/${event.model} ${event.latencyMs}ms`,
    );
  }

  /** Breakers, keys, health, budgets, reloads, shared state: each once, as GET /api/events streams it. */
  operational(record: OperationalEventRecord): void {
    const warn = isWarning(record.event, record.data);
    const fields: Record<string, unknown> = { event: record.event, id: record.id };
    // A budget alert's own `level` (threshold, exceeded) must not overwrite the line's.
    for (const [name, value] of Object.entries(record.data))
      fields[LINE_KEYS.has(name) ? `data_${name}` : name] = value;
    this.pino[warn ? 'warn' : 'info'](fields, record.summary);
  }

  /** A line of the process's own (started, stopping, an error no request owns). */
  note(level: Level, event: string, message: string, fields: Record<string, unknown> = {}): void {
    this.pino[level]({ ...fields, event }, message);
  }

  /** Writes what is buffered and closes the file. */
  async close(): Promise<void> {
    this.pino.flush();
    await this.file?.close();
  }
}

/** Provider, model, the upstream key's mask, attempts, tokens and cost of a request's usage events. */
function usageFields(usage: readonly UsageEvent[], provider?: string, model?: string): Record<string, unknown> {
  const last = usage.at(-1);
  if (!last) return { provider, model };
  let tokensIn = 0;
  let tokensOut = 0;
  let costUsd = 0;
  for (const event of usage) {
    tokensIn += event.inputTokens;
    tokensOut += event.outputTokens;
    costUsd += event.costUsd;
  }
  return {
    provider: provider ?? last.providerId,
    model: model ?? last.model,
    provider_key: last.keyId,
    fallback_depth: last.fallbackDepth,
    tokens_in: tokensIn,
    tokens_out: tokensOut,
    tokens_estimated: usage.some((event) => event.tokensEstimated) || undefined,
    cost_usd: Math.round(costUsd * 1e8) / 1e8,
    error_code: last.errorCode,
  };
}

function consoleStream(options: NonNullable<LoggerOptions['console']>): DestinationStream {
  const { stream } = options;
  if (options.format === 'json') return { write: (line: string) => void stream.write(line) };
  const prettify = prettyFactory({
    colorize: options.colors ?? false,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    // The message already says these; the rest (key, provider, model, tokens, cost, …) follows it.
    ignore: 'event,id,method,route,status,latency_ms',
    messageFormat: '{event}: {msg}',
  });
  return { write: (line: string) => void stream.write(prettify(line)) };
}

/** The most bytes written to the file at once: lines of one turn of the event loop go together up to it. */
const MAX_CHUNK_BYTES = 16 * 1024;

/**
 * The log file, rotated by size the classic way (serve.log → serve.log.1 → …, `keep` of them kept).
 * Files are the owner's alone (0600 in a 0700 folder): requests name providers, models and app keys.
 * rotating-file-stream makes one file write per chunk, so the lines of a turn of the event loop are written
 * as one chunk (a file ends past its limit by at most a chunk, an eighth of the limit at most).
 */
class LogFile implements DestinationStream {
  private readonly file: RotatingFileStream;
  private readonly chunkBytes: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled = false;

  constructor(options: LogFileOptions) {
    const folder = dirname(options.path);
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    chmodSync(folder, 0o700);
    const name = basename(options.path);
    const maxBytes = options.maxBytes ?? DEFAULT_LOG_FILE_BYTES;
    this.chunkBytes = Math.min(MAX_CHUNK_BYTES, Math.floor(maxBytes / 8));
    this.file = createStream((index) => (index ? `${name}.${index}` : name), {
      path: folder,
      size: `${maxBytes}B`,
      rotate: options.keep ?? DEFAULT_LOG_FILES_KEPT,
      mode: 0o600,
    });
    // A file that already existed keeps its mode through createWriteStream: set it on every open.
    this.file.on('open', (path: string) => chmodSync(path, 0o600));
    // A full disk or a removed folder must not take the server down with it; the terminal still has the lines.
    this.file.on('error', () => {});
  }

  write(line: string): void {
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= this.chunkBytes) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  async close(): Promise<void> {
    this.flush();
    if (this.file.destroyed) return;
    await new Promise<void>((resolve) => {
      this.file.once('error', () => resolve());
      this.file.end(resolve);
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    if (!this.file.destroyed && !this.file.writableEnded) this.file.write(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }
}
