import { Agent, request } from 'node:http';
import { cpuMs } from '../../test/support/cpu.ts';

/** Where the load goes: the upstream itself, or a gateway in front of it. */
export interface Target {
  name: string;
  /** Origin, e.g. http://127.0.0.1:7878 */
  url: string;
  headers: Record<string, string>;
  model: string;
  /** The process doing the target's work, whose CPU time is counted (Linux). */
  pid?: number;
}

export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  stream: boolean;
}

export interface LoadResult {
  requests: number;
  errors: number;
  requestsPerSecond: number;
  /** Milliseconds from sending the request to the end of the answer. */
  p50: number;
  p99: number;
  /** Switchboard's own x-switchboard-overhead-ms, where the target sent it. */
  overheadP50?: number;
  overheadP99?: number;
  /** CPU time the target's process spent per answered request: the cost that contention cannot blur. */
  cpuMsPerRequest?: number;
  /**
   * The part of it on the process's main thread: a Node gateway's JavaScript runs there, so at 50 clients
   * this one core's time per request bounds its requests per second (other threads use the other core).
   */
  mainThreadCpuMsPerRequest?: number;
  /** What the figures above come from, so that slices of one load can be put together (mergeLoads). */
  raw: { latencies: number[]; overheads: number[]; elapsedS: number; cpuMs?: number; mainThreadCpuMs?: number };
}

/** Figures from raw samples: sorted latencies and overheads, the time they took, the target's CPU time. */
function loadResult(errors: number, raw: LoadResult['raw']): LoadResult {
  const latencies = raw.latencies.sort((a, b) => a - b);
  const overheads = raw.overheads.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    requestsPerSecond: latencies.length / raw.elapsedS,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    ...(overheads.length > 0
      ? { overheadP50: percentile(overheads, 0.5), overheadP99: percentile(overheads, 0.99) }
      : {}),
    ...(raw.cpuMs !== undefined && latencies.length > 0 ? { cpuMsPerRequest: raw.cpuMs / latencies.length } : {}),
    ...(raw.mainThreadCpuMs !== undefined && latencies.length > 0
      ? { mainThreadCpuMsPerRequest: raw.mainThreadCpuMs / latencies.length }
      : {}),
    raw,
  };
}

/** Slices of one target's load (taken in turns with other targets, so that a change in the host's load falls on all alike) as one result. */
export function mergeLoads(slices: readonly LoadResult[]): LoadResult {
  const total = (ms: (number | undefined)[]) =>
    ms.every((one) => one !== undefined) ? ms.reduce((sum, one) => sum + one, 0) : undefined;
  return loadResult(
    slices.reduce((sum, slice) => sum + slice.errors, 0),
    {
      latencies: slices.flatMap((slice) => slice.raw.latencies),
      overheads: slices.flatMap((slice) => slice.raw.overheads),
      elapsedS: slices.reduce((sum, slice) => sum + slice.raw.elapsedS, 0),
      cpuMs: total(slices.map((slice) => slice.raw.cpuMs)),
      mainThreadCpuMs: total(slices.map((slice) => slice.raw.mainThreadCpuMs)),
    },
  );
}

export function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

function body(target: Target, stream: boolean): Buffer {
  return Buffer.from(
    JSON.stringify({
      model: target.model,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Write one sentence about a fox.' },
      ],
      max_tokens: 32,
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    }),
  );
}

/**
 * `concurrency` clients on keep-alive connections, each sending its next request as soon as the
 * previous answer has fully arrived, for `durationMs`. An answer counts only when it is a 200 and,
 * for streams, ends with `[DONE]`.
 */
export async function runLoad(target: Target, options: LoadOptions): Promise<LoadResult> {
  const { hostname, port } = new URL(target.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const payload = body(target, options.stream);
  const headers = { ...target.headers, 'content-type': 'application/json', 'content-length': payload.length };
  const latencies: number[] = [];
  const overheads: number[] = [];
  let errors = 0;
  const deadline = performance.now() + options.durationMs;

  const once = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const req = request({ agent, hostname, port, path: '/v1/chat/completions', method: 'POST', headers }, (res) => {
        let tail = '';
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          tail = (tail + text).slice(-64);
        });
        res.on('end', () => {
          const ok = res.statusCode === 200 && (!options.stream || tail.includes('[DONE]'));
          if (!ok) errors++;
          else {
            latencies.push(performance.now() - started);
            const overhead = res.headers['x-switchboard-overhead-ms'];
            if (typeof overhead === 'string') overheads.push(Number(overhead));
          }
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(payload);
    });

  const started = performance.now();
  const cpuBefore = cpuMs(target.pid);
  const mainBefore = cpuMs(target.pid, true);
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < deadline) await once();
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  const cpuAfter = cpuMs(target.pid);
  const mainAfter = cpuMs(target.pid, true);
  agent.destroy();
  return loadResult(errors, {
    latencies,
    overheads,
    elapsedS,
    cpuMs: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined,
    mainThreadCpuMs: mainBefore !== undefined && mainAfter !== undefined ? mainAfter - mainBefore : undefined,
  });
}

/**
 * Brings a target to its steady state before anything counts: 1.5 s at 50 clients (connection pools, the
 * first tier-up), then alone for `aloneMs`. The second part is there because on two busy cores V8 is still
 * optimizing a Node gateway's hot functions long after a short burst: after the 50-client part alone,
 * Switchboard's one-client p50 fell from about 1.3 to 0.7 ms (total) over the next 4 s while hundreds of
 * functions were compiled (bench/RESULTS.md, 2026-12-02 "A lone client measured once V8 has settled"), and
 * a one-client measurement right after the burst measured that tier-up more than the gateway.
 */
export async function warmUp(target: Target, stream: boolean, aloneMs = 6_000): Promise<void> {
  await runLoad(target, { concurrency: 50, durationMs: 1_500, stream });
  await runLoad(target, { concurrency: 1, durationMs: aloneMs, stream });
}

export interface RateResult {
  rate: number;
  requests: number;
  errors: number;
  /** Milliseconds from when each request was due (not when it went out) to the end of its answer. */
  p50: number;
  p99: number;
  max: number;
  /** The requests that took longer than `slowMs`: when each was due (ms into the load) and how long it took. */
  slow: { dueMs: number; ms: number }[];
}

/**
 * An open-loop load: one non-streaming request every 1/rate seconds whatever the answers do, latency
 * counted from when each was due, so a gateway that falls behind shows it (no coordinated omission).
 */
export async function runRate(target: Target, rate: number, durationMs: number, slowMs = 20): Promise<RateResult> {
  const { hostname, port } = new URL(target.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const payload = body(target, false);
  const headers = { ...target.headers, 'content-type': 'application/json', 'content-length': payload.length };
  const latencies: number[] = [];
  const slow: RateResult['slow'] = [];
  let errors = 0;
  const total = Math.round((rate * durationMs) / 1000);
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    // Late, it counts from when it was due (what a gateway that falls behind costs); sent early (a wait under
    // a millisecond is not slept, and timers fire early), from when it went out, or a fast answer would come
    // out shorter than it took, even below zero.
    const from = Math.min(due, performance.now());
    pending.push(
      new Promise<void>((resolve) => {
        const req = request({ agent, hostname, port, path: '/v1/chat/completions', method: 'POST', headers }, (res) => {
          res.resume();
          res.on('end', () => {
            const ms = performance.now() - from;
            if (res.statusCode !== 200) errors++;
            else latencies.push(ms);
            if (ms > slowMs) slow.push({ dueMs: due - started, ms });
            resolve();
          });
        });
        req.on('error', () => {
          errors++;
          resolve();
        });
        req.end(payload);
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    rate,
    requests: latencies.length,
    errors,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies.at(-1) ?? Number.NaN,
    slow: slow.sort((a, b) => a.dueMs - b.dueMs),
  };
}

export interface StreamsResult {
  streams: number;
  completed: number;
  frames: number;
  /** How long frames took from the upstream's write to this client's read, in ms. */
  p50: number;
  p99: number;
  max: number;
  /** Frames that arrived more than 50 ms after the upstream wrote them. */
  late: number;
}

/**
 * `streams` concurrent streams whose upstream writes a frame every `paceMs` ms, each stamped with the
 * moment it was written: how late each frame reaches the client.
 */
export async function runPacedStreams(
  target: Target,
  options: { streams: number; frames: number; paceMs: number },
): Promise<StreamsResult> {
  const { hostname, port } = new URL(target.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.streams });
  const payload = Buffer.from(
    JSON.stringify({
      model: target.model,
      messages: [{ role: 'user', content: 'Count slowly.' }],
      stream: true,
      bench_pace_ms: options.paceMs,
      bench_frames: options.frames,
    }),
  );
  const headers = { ...target.headers, 'content-type': 'application/json', 'content-length': payload.length };
  const delays: number[] = [];
  let completed = 0;
  await Promise.all(
    Array.from(
      { length: options.streams },
      () =>
        new Promise<void>((resolve) => {
          const req = request(
            { agent, hostname, port, path: '/v1/chat/completions', method: 'POST', headers },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => {
                const now = performance.timeOrigin + performance.now();
                text += chunk;
                const end = text.lastIndexOf('\n\n');
                if (end === -1) return;
                for (const match of text.slice(0, end).matchAll(/"t":([\d.]+)/g)) delays.push(now - Number(match[1]));
                text = text.slice(end + 2);
              });
              res.on('end', () => {
                if (res.statusCode === 200) completed++;
                resolve();
              });
            },
          );
          req.on('error', () => resolve());
          req.end(payload);
        }),
    ),
  );
  agent.destroy();
  delays.sort((a, b) => a - b);
  return {
    streams: options.streams,
    completed,
    frames: delays.length,
    p50: percentile(delays, 0.5),
    p99: percentile(delays, 0.99),
    max: delays.at(-1) ?? Number.NaN,
    late: delays.filter((ms) => ms > 50).length,
  };
}
