import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type CaptureInput, captureAudio, decodeAudio, defaultCapture } from '../../../../native/audio/index.ts';
import { SwitchboardError } from '../../contract/errors.ts';
import { jobError } from '../../meetings/errors.ts';
import { exportMeeting, loadMeetingDocument } from '../../meetings/export.ts';
import { LIVE_SAMPLE_RATE, LiveRecordings } from '../../meetings/live.ts';
import { formatClock, TranscriptionQueue } from '../../meetings/queue.ts';
import { parseExportFormat } from './export-format.ts';
import type { TranscribeCliServices } from './transcribe-services.ts';

/** Where live audio comes from: a device (ffmpeg) or a file fed at real-time pace. */
export interface LiveSource {
  chunks: AsyncIterable<Int16Array>;
  channels: 1 | 2;
  /** Ends the source early (Ctrl-C); what it already gave is kept. */
  stop(): void;
}

export interface LiveOptions {
  format: string;
  title?: string;
  language?: string;
  /** Run the final pass over the whole recording after it ends. */
  refine: boolean;
}

/**
 * Records a meeting live from `source`: each segment is printed on stderr as soon as it is transcribed
 * ("[0:07] me: …"); Ctrl-C ends the recording (a second Ctrl-C skips the final pass). The finished
 * transcript goes to stdout in the chosen format, the meeting id to stderr.
 */
export async function recordLive(services: TranscribeCliServices, source: LiveSource, options: LiveOptions) {
  const format = parseExportFormat(options.format);
  const { store, transcribe, audioDir } = services;
  const queue = new TranscriptionQueue({ meetings: store.meetings, transcribe, audioDir, adoptStoredJobs: false });
  const live = new LiveRecordings({ meetings: store.meetings, transcribe, queue, audioDir });
  const watchStop = new AbortController();
  let recording = true;
  let meetingId = '';
  const onInterrupt = () => {
    if (recording) source.stop();
    else if (meetingId) void queue.cancel(meetingId);
  };
  process.on('SIGINT', onInterrupt);
  try {
    const meeting = await live.start({ title: options.title, language: options.language, channels: source.channels });
    meetingId = meeting.id;
    process.stderr.write(`Recording meeting ${meeting.id}; press Ctrl-C to stop.\n`);
    const watched = (async () => {
      for await (const event of queue.watch(meeting.id, watchStop.signal)) {
        if (event.type !== 'segment') continue;
        const { start, channel, text } = event.segment;
        process.stderr.write(`[${formatClock(start)}] ${channel ? `${channel}: ` : ''}${text}\n`);
      }
    })();
    let seq = 0;
    let failure: unknown;
    try {
      for await (const chunk of source.chunks) await live.append(meeting.id, seq++, chunk);
    } catch (error) {
      failure = error;
    }
    recording = false;
    if (failure !== undefined && seq === 0) {
      // Nothing was recorded: no meeting is left behind, and the reason is the device's.
      await live.discard(meeting.id);
      await queue.remove(meeting.id);
      throw failure;
    }
    const stopped = await live.stop(meeting.id, { refine: options.refine });
    process.stderr.write(
      `Recorded ${formatClock(stopped.durationSeconds ?? 0)}${options.refine ? '; refining the transcript (Ctrl-C keeps it as it is)' : ''}…\n`,
    );
    await watched;
    const done = store.meetings.get(meeting.id);
    if (done.status !== 'done' && done.status !== 'cancelled') throw jobError(done);
    process.stdout.write(exportMeeting(loadMeetingDocument(store.meetings, meeting.id), format).content);
    process.stderr.write(`Saved as meeting ${meeting.id}\n`);
    if (failure !== undefined) throw failure;
  } finally {
    process.off('SIGINT', onInterrupt);
    watchStop.abort();
    await live.close();
    await queue.close();
  }
}

/** A file's audio (mixed to one channel) in quarter-second chunks, at `speed` × real time. */
export async function fileAtPace(file: string, speed: number): Promise<LiveSource> {
  if (!(speed > 0)) throw new SwitchboardError('INVALID_REQUEST', `--speed must be a number above 0 (got ${speed})`);
  const { samples } = await decodeAudio(resolve(file));
  const chunk = LIVE_SAMPLE_RATE / 4;
  let stopped = false;
  async function* chunks(): AsyncIterable<Int16Array> {
    const started = performance.now();
    for (let offset = 0; offset < samples.length && !stopped; offset += chunk) {
      const due = started + ((offset + chunk) / LIVE_SAMPLE_RATE / speed) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
      const part = samples.subarray(offset, offset + chunk);
      yield Int16Array.from(part, (s) => Math.max(-32768, Math.min(32767, Math.round(s * 32768))));
    }
  }
  return { chunks: chunks(), channels: 1, stop: () => (stopped = true) };
}

function captureInput(spec: string | undefined, fallback: CaptureInput | undefined, format?: string) {
  if (spec === undefined) return fallback;
  return { format: format ?? fallback?.format ?? defaultCapture().input.format, device: spec };
}

interface RecordOptions {
  format: string;
  title?: string;
  language?: string;
  refine: boolean;
  device?: string;
  inputFormat?: string;
  system?: string | boolean;
  seconds?: string;
}

/** `switchboard record`: a meeting from an input device, transcribed live. */
export function registerRecordCommand(program: Command, services: () => Promise<TranscribeCliServices>): void {
  program
    .command('record')
    .description('record a meeting from the microphone (and the system audio), transcribed as people speak')
    .option('--format <format>', 'txt|srt|vtt|json|md: the final transcript on stdout', 'txt')
    .option('--title <title>', 'meeting title (default: Recording and the time)')
    .option('--language <code>', 'spoken language, e.g. en (default: detected by a multilingual model)')
    .option('--device <name>', 'input device (default: the system default; PulseAudio source on Linux)')
    .option(
      '--input-format <format>',
      'ffmpeg input format (default: pulse on Linux, avfoundation on macOS, dshow on Windows)',
    )
    .option(
      '--system [device]',
      'also record the system audio as the other side of the call ("them"); Linux: the default output\'s monitor',
    )
    .option('--seconds <n>', 'stop after this many seconds (default: at Ctrl-C)')
    .option('--no-refine', 'keep the live transcript; skip the final pass over the whole recording')
    .action(async (options: RecordOptions) => {
      const defaults = defaultCapture();
      const input = captureInput(options.device, defaults.input, options.inputFormat)!;
      const system =
        options.system === undefined || options.system === false
          ? undefined
          : captureInput(options.system === true ? undefined : options.system, defaults.system, options.inputFormat);
      if (options.system && !system) {
        throw new SwitchboardError(
          'INVALID_REQUEST',
          `--system needs a device on ${process.platform} (a loopback device such as BlackHole on macOS, "Stereo Mix" on Windows)`,
        );
      }
      const seconds = options.seconds === undefined ? undefined : Number(options.seconds);
      if (seconds !== undefined && !(seconds > 0))
        throw new SwitchboardError('INVALID_REQUEST', `--seconds must be a number above 0 (got ${options.seconds})`);
      const capture = captureAudio({
        input,
        ...(system ? { system } : {}),
        ...(seconds ? { seconds } : {}),
        // A file given as the device plays at its own pace, as a device would.
        realTime: !['pulse', 'alsa', 'avfoundation', 'dshow', 'jack', 'oss'].includes(input.format),
      });
      await recordLive(await services(), { ...capture, channels: capture.channels as 1 | 2 }, options);
    });
}
