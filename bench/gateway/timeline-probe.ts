/**
 * One request's timeline inside the Switchboard bench process (bench/gateway/timeline.ts turns it on with
 * SWITCHBOARD_BENCH_TIMELINE=1): performance.now() stamps from node:http's and undici's diagnostics
 * channels and around the usage store's reservation, nothing added to the gateway's own code; beside each
 * gap, how much of it the event loop was idle (waiting in the poll phase), from eventLoopUtilization; last,
 * the gap from a response written to the next request's arrival (the request's end is booked in it while
 * the client takes its turn). The server's busy polling (server/busy-poll.ts) polls without waiting, so
 * with it on the loop shows no idle time. Meant for one client at a time: every stamp belongs to the
 * request that arrived last.
 */
import { subscribe } from 'node:diagnostics_channel';
import { type IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { UsageRepository } from '../../electron/engine/store/usage.ts';

/** The moments stamped, in the order a pass-through request meets them. */
export const MOMENTS = [
  'arrived',
  'bodyRead',
  'reserveAsked',
  'upstreamCreated',
  'upstreamHeadersSent',
  'upstreamWritten',
  'commitStarted',
  'reserveCommitted',
  'upstreamHeaders',
  'upstreamEnd',
  'responseWriting',
  'responseWritten',
  'responseFinished',
] as const;
type Moment = (typeof MOMENTS)[number];
/** When each moment came, and the event loop's idle time (ms, cumulative) then. */
type Timeline = Partial<Record<Moment, { at: number; idle: number }>>;

const timelines: Timeline[] = [];
let connects = 0;
let current: Timeline | undefined;
/** From a response written to the next request's arrival (the client's turn): how long, and how much of it idle. */
const untilNext: { gap: number; idle: number }[] = [];
const now = () => ({ at: performance.now(), idle: performance.eventLoopUtilization().idle });
const stamp = (moment: Moment) => {
  if (current && current[moment] === undefined) current[moment] = now();
};

export function startTimeline(): void {
  subscribe('http.server.request.start', (message) => {
    const arrived = now();
    const previous = current?.responseWritten;
    if (previous) untilNext.push({ gap: arrived.at - previous.at, idle: arrived.idle - previous.idle });
    current = { arrived };
    timelines.push(current);
    (message as { request: IncomingMessage }).request.once('end', () => stamp('bodyRead'));
  });
  subscribe('http.server.response.finish', () => stamp('responseFinished'));
  subscribe('undici:request:create', () => stamp('upstreamCreated'));
  subscribe('undici:client:connected', () => connects++);
  subscribe('undici:client:sendHeaders', () => {
    stamp('upstreamHeadersSent');
    // Once undici's callback that writes the request (headers and body) to the socket has returned.
    process.nextTick(() => stamp('upstreamWritten'));
  });
  subscribe('undici:request:headers', () => stamp('upstreamHeaders'));
  subscribe('undici:request:trailers', () => stamp('upstreamEnd'));
  const end = ServerResponse.prototype.end;
  ServerResponse.prototype.end = function (this: ServerResponse, ...args: Parameters<ServerResponse['end']>) {
    stamp('responseWriting');
    const result = end.apply(this, args);
    stamp('responseWritten');
    return result;
  } as ServerResponse['end'];
  // Every commit of the usage rows starts in the repository's send: here on the event loop for a request
  // alone in flight, or handed to the writer thread (as `serve` has one) while the gateway is busy.
  const repository = UsageRepository.prototype as unknown as { send(this: UsageRepository): void };
  const send = repository.send;
  repository.send = function (this: UsageRepository) {
    if (current?.reserveAsked !== undefined) stamp('commitStarted');
    send.call(this);
  };
  const reserve = UsageRepository.prototype.reserve;
  UsageRepository.prototype.reserve = function (this: UsageRepository, event) {
    stamp('reserveAsked');
    const committed = reserve.call(this, event);
    void committed.then(() => stamp('reserveCommitted'));
    return committed;
  };
}

/**
 * Milliseconds from `arrived` to each moment and from the moment before, and how much of that gap the event
 * loop was idle, each as p50 / p99 over the requests seen.
 */
export function timelineReport(): string {
  const at = (values: number[], fraction: number) =>
    values.sort((a, b) => a - b)[Math.floor(values.length * fraction)] ?? Number.NaN;
  const both = (values: number[]) => `${at(values, 0.5).toFixed(3)} / ${at(values, 0.99).toFixed(3)}`;
  const complete = timelines.filter((t) => t.responseFinished !== undefined);
  const lines = [
    `${complete.length} requests, ${connects} upstream connections opened; ms, p50 / p99`,
    '| moment | since arrived | since the moment before | of which the event loop idle |',
    '|---|---|---|---|',
  ];
  let previous: Moment | undefined;
  for (const moment of MOMENTS) {
    const seen = complete.filter(
      (t) => t[moment] !== undefined && (previous === undefined || t[previous] !== undefined),
    );
    if (seen.length === 0) continue;
    const since = seen.map((t) => t[moment]!.at - t.arrived!.at);
    const gap = seen.map((t) => (previous ? t[moment]!.at - t[previous]!.at : 0));
    const idle = seen.map((t) => (previous ? t[moment]!.idle - t[previous]!.idle : 0));
    lines.push(`| ${moment} | ${both(since)} | ${both(gap)} | ${both(idle)} |`);
    previous = moment;
  }
  const gaps = untilNext.map((one) => one.gap);
  const idles = untilNext.map((one) => one.idle);
  lines.push(`| next request arrived | | ${both(gaps)} | ${both(idles)} |`);
  untilNext.length = 0;
  timelines.length = 0;
  connects = 0;
  return lines.join('\n');
}
