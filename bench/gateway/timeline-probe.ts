/**
 * One request's timeline inside the Switchboard bench process (bench/gateway/timeline.ts turns it on with
 * SWITCHBOARD_BENCH_TIMELINE=1): performance.now() stamps from node:http's and undici's diagnostics
 * channels and around the usage store's reservation, nothing added to the gateway's own code. Meant for
 * one client at a time: every stamp belongs to the request that arrived last.
 */
import { subscribe } from 'node:diagnostics_channel';
import { type IncomingMessage, ServerResponse } from 'node:http';
import { UsageRepository } from '../../electron/engine/store/usage.ts';
import { UsageWriterThread } from '../../electron/engine/store/usage-writer.ts';

/** The moments stamped, in the order a pass-through request meets them. */
export const MOMENTS = [
  'arrived',
  'bodyRead',
  'reserveAsked',
  'upstreamCreated',
  'upstreamHeadersSent',
  'commitStarted',
  'reserveCommitted',
  'upstreamHeaders',
  'upstreamEnd',
  'responseWriting',
  'responseWritten',
  'responseFinished',
] as const;
type Moment = (typeof MOMENTS)[number];
type Timeline = Partial<Record<Moment, number>>;

const timelines: Timeline[] = [];
let connects = 0;
let current: Timeline | undefined;
const stamp = (moment: Moment) => {
  if (current && current[moment] === undefined) current[moment] = performance.now();
};

export function startTimeline(): void {
  subscribe('http.server.request.start', (message) => {
    current = { arrived: performance.now() };
    timelines.push(current);
    (message as { request: IncomingMessage }).request.once('end', () => stamp('bodyRead'));
  });
  subscribe('http.server.response.finish', () => stamp('responseFinished'));
  subscribe('undici:request:create', () => stamp('upstreamCreated'));
  subscribe('undici:client:connected', () => connects++);
  subscribe('undici:client:sendHeaders', () => stamp('upstreamHeadersSent'));
  subscribe('undici:request:headers', () => stamp('upstreamHeaders'));
  subscribe('undici:request:trailers', () => stamp('upstreamEnd'));
  const end = ServerResponse.prototype.end;
  ServerResponse.prototype.end = function (this: ServerResponse, ...args: Parameters<ServerResponse['end']>) {
    stamp('responseWriting');
    const result = end.apply(this, args);
    stamp('responseWritten');
    return result;
  } as ServerResponse['end'];
  // The bench's Switchboard writes its usage rows on the writer thread (as `serve` does): handed over there.
  const write = UsageWriterThread.prototype.write;
  UsageWriterThread.prototype.write = function <Row>(
    this: UsageWriterThread<Row>,
    reservations: Row[],
    settled: Row[],
  ) {
    if (current?.reserveAsked !== undefined) stamp('commitStarted');
    return write.call(this, reservations, settled) as Promise<void>;
  };
  const reserve = UsageRepository.prototype.reserve;
  UsageRepository.prototype.reserve = function (this: UsageRepository, event) {
    stamp('reserveAsked');
    const committed = reserve.call(this, event);
    void committed.then(() => stamp('reserveCommitted'));
    return committed;
  };
}

/** Median milliseconds from `arrived` to each moment (and the gap from the moment before), over the requests seen. */
export function timelineReport(): string {
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  const complete = timelines.filter((t) => t.responseFinished !== undefined);
  const lines = [
    `${complete.length} requests, ${connects} upstream connections opened; medians in ms`,
    '| moment | since arrived | since the moment before |',
    '|---|---|---|',
  ];
  let previous: Moment | undefined;
  for (const moment of MOMENTS) {
    const seen = complete.filter(
      (t) => t[moment] !== undefined && (previous === undefined || t[previous] !== undefined),
    );
    if (seen.length === 0) continue;
    const since = median(seen.map((t) => t[moment]! - t.arrived!));
    const gap = previous ? median(seen.map((t) => t[moment]! - t[previous!]!)) : 0;
    lines.push(`| ${moment} | ${since.toFixed(3)} | ${gap.toFixed(3)} |`);
    previous = moment;
  }
  timelines.length = 0;
  connects = 0;
  return lines.join('\n');
}
