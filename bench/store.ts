/**
 * Store speed on a large library: 1,000 meetings × 500 transcript segments (500,000 segments) written
 * through the repositories with the FTS5 triggers live, the database size that leaves, and full-text
 * query latency (p50/p95) over varied queries: rare and common words, two-word queries, phrases and
 * input with FTS syntax in it. Also the cost of the transcription queue's write pattern
 * (one transaction per segment).
 *
 *   npx node bench/store.ts [--meetings 1000] [--segments 500]
 *
 * Text is generated from a fixed seed over a 2,000-word vocabulary with a Zipf-like word frequency, so
 * common words match a large part of the library the way "the" or "budget" would.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { TranscriptSegment } from '../electron/engine/contract/transcription.ts';
import { openStore } from '../electron/engine/store/store.ts';

const { values } = parseArgs({
  options: { meetings: { type: 'string', default: '1000' }, segments: { type: 'string', default: '500' } },
});
const MEETINGS = Number(values.meetings);
const SEGMENTS = Number(values.segments);
const QUERY_ROUNDS = 5;

/** mulberry32: a small seeded PRNG, so every run writes the same library. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = random(42);
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'to', 'vi', 'pe', 'da', 'gor', 'lin', 'tas', 'mer', 'bun'];
const vocabulary = Array.from({ length: 2000 }, (_, i) => {
  let word = '';
  for (let n = i + 1; n > 0; n = Math.floor(n / SYLLABLES.length)) word += SYLLABLES[n % SYLLABLES.length];
  return word;
});
// Zipf: word k is picked with probability ∝ 1/(k+1).
const weights = vocabulary.map((_, k) => 1 / (k + 1));
const cumulative: number[] = [];
weights.reduce((sum, weight, k) => (cumulative[k] = sum + weight), 0);
const total = cumulative.at(-1)!;
function word(): string {
  const target = rand() * total;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return vocabulary[lo]!;
}
function sentence(): string {
  const length = 8 + Math.floor(rand() * 18);
  return `${Array.from({ length }, word).join(' ')}.`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-store-'));
const file = path.join(dir, 'switchboard.db');
const store = openStore({ file, keyProvider: { loadKey: () => Buffer.alloc(32) } });
try {
  // ---- bulk insert: one transaction per meeting (import, or a finished transcript) ----
  const sentences: string[] = [];
  let insertMs = 0;
  for (let m = 0; m < MEETINGS; m++) {
    const segments: TranscriptSegment[] = Array.from({ length: SEGMENTS }, (_, index) => {
      const text = sentence();
      if (sentences.length < 5000 && rand() < 0.01) sentences.push(text);
      return {
        index,
        start: index * 6,
        end: index * 6 + 5.5,
        text,
        speaker: index % 3 === 0 ? 'Ana' : null,
        confidence: 0.9,
      };
    });
    const started = performance.now();
    const meeting = store.meetings.create({
      title: `Meeting ${m} ${sentence()}`,
      status: 'done',
      durationSeconds: SEGMENTS * 6,
    });
    store.meetings.replaceSegments(meeting.id, segments);
    insertMs += performance.now() - started;
  }
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  const bytes = statSync(file).size;
  const segmentCount = MEETINGS * SEGMENTS;

  // ---- the queue's pattern: one committed transaction per segment ----
  const live = store.meetings.create({ title: 'Live', status: 'running' });
  const perSegment = 2000;
  const liveStarted = performance.now();
  for (let i = 0; i < perSegment; i++) {
    store.meetings.appendSegment(
      live.id,
      { start: i, end: i + 1, text: sentence(), speaker: null, confidence: null },
      i / perSegment,
    );
  }
  const perSegmentMs = (performance.now() - liveStarted) / perSegment;

  // ---- queries ----
  const pick = <T>(list: T[]) => list[Math.floor(rand() * list.length)]!;
  const words = (text: string) => text.replace('.', '').split(' ');
  const categories: Record<string, () => string> = {
    'common word': () => vocabulary[Math.floor(rand() * 5)]!,
    'mid word': () => vocabulary[50 + Math.floor(rand() * 200)]!,
    'rare word': () => vocabulary[1500 + Math.floor(rand() * 500)]!,
    'two words': () => `${vocabulary[20 + Math.floor(rand() * 100)]} ${vocabulary[200 + Math.floor(rand() * 800)]}`,
    'phrase (3 words)': () => {
      const w = words(pick(sentences));
      const at = Math.floor(rand() * (w.length - 3));
      return `"${w.slice(at, at + 3).join(' ')}"`;
    },
    'FTS syntax': () => `${pick(vocabulary.slice(0, 300))} AND (NEAR "${pick(vocabulary)}*`,
  };
  const results: { category: string; p50: number; p95: number; max: number; hits: number }[] = [];
  const all: number[] = [];
  for (const [category, make] of Object.entries(categories)) {
    const times: number[] = [];
    let hits = 0;
    for (let i = 0; i < 20 * QUERY_ROUNDS; i++) {
      const query = make();
      const started = performance.now();
      hits += store.search.search(query, 20).length;
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    all.push(...times);
    results.push({
      category,
      p50: percentile(times, 50),
      p95: percentile(times, 95),
      max: times.at(-1)!,
      hits: hits / times.length,
    });
  }
  all.sort((a, b) => a - b);

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `date: ${new Date().toISOString()}`,
    `machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${os.platform()}`,
    `library: ${MEETINGS} meetings × ${SEGMENTS} segments = ${segmentCount.toLocaleString('en')} segments`,
    `insert: ${(insertMs / 1000).toFixed(1)} s (${Math.round(segmentCount / (insertMs / 1000)).toLocaleString('en')} segments/s, one transaction per meeting, FTS triggers on)`,
    `database size: ${(bytes / 2 ** 20).toFixed(0)} MiB (${Math.round(bytes / segmentCount)} bytes/segment incl. FTS index)`,
    `queue write pattern: ${perSegmentMs.toFixed(3)} ms per segment (its own committed transaction)`,
    '',
    '| query | p50 ms | p95 ms | max ms | hits (of 20) |',
    '|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.category} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.max.toFixed(2)} | ${r.hits.toFixed(1)} |`,
    ),
    `| **all ${all.length} queries** | ${percentile(all, 50).toFixed(2)} | ${percentile(all, 95).toFixed(2)} | ${all.at(-1)!.toFixed(2)} | |`,
  ];
  console.log(lines.join('\n'));
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
