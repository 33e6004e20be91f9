/**
 * Local transcription speed: real-time factor (audio seconds per wall-clock second) of whisper-tiny.en's
 * architecture at its real size, with random weights (see scripts/whisper-onnx), through the whole
 * pipeline — decode, voice activity, log-mel features, encoder, constrained decoding — on jfk.wav (11 s) and
 * standup.wav (55 s). Each quantization runs in its own process so its peak RSS is its own.
 *
 *   npx node bench/transcription.ts            # generates bench/.cache/whisper-tiny-random on first run
 *
 * Random weights decode nonsense until each utterance's token budget (7 tokens/s of speech) or a random
 * stop, so the decoder work per second is at or above what real speech needs; tokens/s is reported.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { createWhisperTranscriber, type Quantization, type WhisperDevice } from '../native/whisper/index.ts';
import { writeResultsSection } from './results.ts';
import { DTYPE, ensureTinyModel, MODEL, modelsDir } from './whisper-model.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');
const shared = path.resolve(repoRoot, '..', 'shared');
const FILES = ['jfk.wav', 'standup.wav'];
const QUANTIZATIONS: Quantization[] = ['8bit', '4bit', '16bit'];
const THREADS = os.cpus().length;
/** `--device cuda|dml|coreml|auto`: where Whisper should run (default the CPU); the report says where it did. */
const deviceArg = process.argv.indexOf('--device');
const DEVICE = (deviceArg === -1 ? 'cpu' : process.argv[deviceArg + 1]) as WhisperDevice;
/** The CPU figures and a GPU run's each keep their own section of RESULTS.md. */
const SECTION = DEVICE === 'cpu' ? 'Transcription' : `Transcription on ${DEVICE}`;
const RUNS = 3;

interface FileResult {
  file: string;
  audioSeconds: number;
  wallSeconds: number[];
  /** Process CPU time (all threads) per run: less sensitive than wall time to other jobs on the machine. */
  cpuSeconds: number[];
  segments: number;
  tokens: number;
}
interface RunResult {
  quantization: Quantization;
  /** Where it ran, and why not on the device asked for. */
  device: string;
  deviceNote?: string;
  loadSeconds: number;
  files: FileResult[];
  peakRssMiB: number;
}

/** One quantization, in this process: load, then each file RUNS times. */
async function measure(quantization: Quantization): Promise<RunResult> {
  const transcriber = createWhisperTranscriber({ modelsDir, quantization, threads: THREADS, device: DEVICE });
  let ran: { device: string; deviceNote?: string } = { device: 'cpu' };
  env.allowRemoteModels = false;
  env.localModelPath = modelsDir;
  const tokenizer = await AutoTokenizer.from_pretrained(MODEL);
  const run = async (file: string) => {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const texts: string[] = [];
    let audioSeconds = 0;
    for await (const event of transcriber.transcribe(
      { filePath: path.join(shared, 'audio', file), model: MODEL },
      new AbortController().signal,
    )) {
      if (event.type === 'segment') texts.push(event.segment.text);
      if (event.type === 'done') {
        audioSeconds = event.durationSeconds;
        ran = { device: event.device ?? 'cpu', ...(event.deviceNote ? { deviceNote: event.deviceNote } : {}) };
      }
    }
    const tokens = texts.reduce((sum, text) => sum + tokenizer.encode(text, { add_special_tokens: false }).length, 0);
    const cpu = process.cpuUsage(cpuStarted);
    return {
      wallSeconds: (performance.now() - started) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      audioSeconds,
      segments: texts.length,
      tokens,
    };
  };
  // The first job also loads the model: it is not one of the measured runs, and its excess over the same
  // file's median run is reported as the first-run overhead.
  const warmup = await run('jfk.wav');
  const files: FileResult[] = [];
  for (const file of FILES) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await run(file));
    files.push({
      file,
      audioSeconds: runs[0]!.audioSeconds,
      wallSeconds: runs.map((r) => r.wallSeconds),
      cpuSeconds: runs.map((r) => r.cpuSeconds),
      segments: runs[0]!.segments,
      tokens: runs[0]!.tokens,
    });
  }
  await transcriber.close();
  const loadSeconds = Math.max(0, warmup.wallSeconds - median(files.find((f) => f.file === 'jfk.wav')!.wallSeconds));
  return { quantization, ...ran, loadSeconds, files, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function report(results: RunResult[], loadAverage: number[]): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const devices = [...new Set(results.map((r) => r.device))].join(', ');
  const notes = [...new Set(results.flatMap((r) => (r.deviceNote ? [r.deviceNote] : [])))];
  const lines = [
    `## ${SECTION}`,
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npx node bench/transcription.ts${DEVICE === 'cpu' ? '' : ` --device ${DEVICE}`}\` on ${cpu}, ` +
      `${os.cpus().length} cores, ${fmt(os.totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}, ` +
      `onnxruntime-node (ran on: ${devices}${notes.length ? `; not on the device asked for: ${notes.join('; ')}` : ''}) via @huggingface/transformers 4, ${THREADS} intra-op threads. ` +
      `Load average when it started: ${loadAverage.map((l) => fmt(l)).join(' / ')} (the machine is shared with other jobs; ` +
      `medians of ${RUNS} runs after a warm-up run that loads the model).`,
    '',
    "Model: whisper-tiny.en's architecture at its real size (d_model 384, 4+4 layers, 6 heads, 80 mels, 1500 audio " +
      'positions, 51864 tokens) with random weights from scripts/whisper-onnx; compute per second of audio is the real ' +
      "model's, the text is nonsense. Random weights decode until each utterance's budget (7 tokens per second of speech) " +
      'or a random stop, more than real speech needs (~3–4 tokens/s), so decoding here costs at least as much as it would with real weights.',
    '',
    '| quantization | file | audio (s) | wall (s), median | real-time factor, median (best) | audio s per CPU s | segments | text tokens / audio s | first-run overhead (s) | peak RSS (MiB) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const rows = results.flatMap((r) => r.files.map((f) => ({ r, f, rtf: f.audioSeconds / median(f.wallSeconds) })));
  for (const { r, f, rtf } of rows) {
    lines.push(
      `| ${r.quantization} (${DTYPE[r.quantization]}) | ${f.file} | ${fmt(f.audioSeconds, 1)} | ${fmt(median(f.wallSeconds))} | ` +
        `**${fmt(rtf, 1)}×** (${fmt(f.audioSeconds / Math.min(...f.wallSeconds), 1)}×) | ${fmt(f.audioSeconds / median(f.cpuSeconds), 1)} | ` +
        `${f.segments} | ${fmt(f.tokens / f.audioSeconds, 1)} | ${fmt(r.loadSeconds, 1)} | ${fmt(r.peakRssMiB, 0)} |`,
    );
  }
  const met = rows.filter((row) => row.rtf >= 10).map((row) => `${row.r.quantization} on ${row.f.file}`);
  const missed = rows.filter((row) => row.rtf < 10).map((row) => `${row.r.quantization} on ${row.f.file}`);
  lines.push(
    '',
    `Goal ≥ 10× real time (median): ${met.length ? `met for ${met.join(', ')}` : 'met for none'}; ` +
      `${missed.length ? `missed for ${missed.join(', ')}` : 'missed for none'}.`,
    '',
    '- Every window is encoded as 30 s of audio whatever its length, so a short file pays a whole window (log-mel ' +
      'features and one encoder pass) for little audio: jfk.wav is one 11 s window, standup.wav two of ~27 s.',
    '- "Audio s per CPU s" counts the CPU time of all threads; it moves less than wall time when other jobs share ' +
      'the machine, which they did (see the load average): run-to-run spread here was up to 2×.',
    "- onnxruntime's idle threads are told not to spin-wait; with spinning, the same jfk.wav run took ~1.6× the CPU " +
      'time on this machine.',
    '',
  );
  return lines.join('\n');
}

const runArg = process.argv.indexOf('--run');
if (runArg !== -1) {
  console.log(JSON.stringify(await measure(process.argv[runArg + 1] as Quantization)));
} else {
  for (const file of FILES) {
    if (!existsSync(path.join(shared, 'audio', file)))
      throw new Error(`${file} missing: it comes with ../shared/audio`);
  }
  const loadAverage = os.loadavg();
  await ensureTinyModel();
  const results: RunResult[] = [];
  for (const quantization of QUANTIZATIONS) {
    console.log(`measuring ${quantization} …`);
    const out = execFileSync(
      process.execPath,
      [fileURLToPath(import.meta.url), '--run', quantization, '--device', DEVICE],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    results.push(JSON.parse(out.trim().split('\n').at(-1)!) as RunResult);
  }
  const section = report(results, loadAverage);
  console.log(section);
  await writeResultsSection(SECTION, section);
}
