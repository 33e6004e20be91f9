import { spawn, spawnSync } from 'node:child_process';
import { AudioDecodeError } from './errors.ts';
import { ffmpegPath } from './ffmpeg.ts';

/** The ffmpeg on PATH, when there is one: distributions build it with PulseAudio, ALSA, AVFoundation or DirectShow. */
function systemFfmpeg(): string {
  const found = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' });
  return found.error ? ffmpegPath() : 'ffmpeg';
}

export interface CaptureInput {
  /** ffmpeg's input format (pulse, alsa, avfoundation, dshow; or wav/lavfi for a file or a test signal). */
  format: string;
  /** The device (or file) in that format's terms. */
  device: string;
}

export interface CaptureOptions {
  /** The microphone ("me"). */
  input: CaptureInput;
  /** The system audio ("them"), recorded as a second channel when given. */
  system?: CaptureInput;
  /** Stop after this many seconds. */
  seconds?: number;
  /** Read a file input at its own pace, as a device delivers it. */
  realTime?: boolean;
  /** Default: the system's ffmpeg (the static one npm ships has no device inputs), else npm's. */
  ffmpegPath?: string;
}

/**
 * The platform's default input device for ffmpeg, and its system-audio source where one exists without
 * extra software: PulseAudio (and PipeWire's Pulse server) offer the default output's monitor. macOS needs
 * a loopback device (BlackHole, …) and Windows "Stereo Mix" or similar, named with --system.
 */
export function defaultCapture(platform = process.platform): { input: CaptureInput; system?: CaptureInput } {
  if (platform === 'darwin') return { input: { format: 'avfoundation', device: ':default' } };
  if (platform === 'win32') return { input: { format: 'dshow', device: 'audio=default' } };
  return {
    input: { format: 'pulse', device: 'default' },
    system: { format: 'pulse', device: '@DEFAULT_MONITOR@' },
  };
}

/** ffmpeg's arguments: each input to 16 kHz mono, the two merged as channels (me, them), 16-bit PCM out. */
export function captureArguments(options: CaptureOptions): string[] {
  const inputs = [options.input, ...(options.system ? [options.system] : [])];
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error'];
  for (const input of inputs) {
    if (options.realTime) args.push('-re');
    args.push('-f', input.format, '-i', input.device);
  }
  if (options.system) {
    args.push(
      '-filter_complex',
      '[0:a]aresample=16000,pan=mono|c0=c0[me];[1:a]aresample=16000,pan=mono|c0=c0[them];[me][them]amerge=inputs=2[out]',
      '-map',
      '[out]',
    );
  } else {
    args.push('-ac', '1');
  }
  if (options.seconds !== undefined) args.push('-t', String(options.seconds));
  args.push('-ar', '16000', '-f', 's16le', '-acodec', 'pcm_s16le', 'pipe:1');
  return args;
}

export interface Capture {
  /** Interleaved 16-bit frames, about a quarter second per chunk, as the device delivers them. */
  chunks: AsyncIterable<Int16Array>;
  channels: number;
  /** Ends the capture; `chunks` then ends after what was already captured. */
  stop(): void;
}

/** Records from a device (or reads a file) with ffmpeg, as 16 kHz 16-bit PCM chunks. */
export function captureAudio(options: CaptureOptions): Capture {
  const channels = options.system ? 2 : 1;
  const child = spawn(options.ffmpegPath ?? systemFfmpeg(), captureArguments(options), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stopped = false;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new AudioDecodeError(
          error.code === 'ENOENT'
            ? 'recording needs ffmpeg: install it (Debian: apt-get install ffmpeg) and try again'
            : `ffmpeg could not start (${error.message})`,
          { cause: error },
        ),
      ),
    );
    // Stopped on purpose, ffmpeg ends the file and exits non-zero for the signal: that is a normal end.
    child.once('close', (code) => resolve(stopped ? 0 : code));
  });
  const frameBytes = channels * 2;
  async function* chunks(): AsyncIterable<Int16Array> {
    let pending: Buffer = Buffer.alloc(0);
    for await (const data of child.stdout as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, data]) : data;
      const whole = pending.length - (pending.length % frameBytes);
      if (whole === 0) continue;
      const samples = new Int16Array(whole / 2);
      new Uint8Array(samples.buffer).set(pending.subarray(0, whole));
      pending = pending.subarray(whole);
      yield samples;
    }
    const code = await exited;
    if (code !== 0) {
      const reason = stderr.trim().split('\n').at(-1) ?? `exit code ${code}`;
      if (/Unknown input format/.test(reason)) {
        throw new AudioDecodeError(
          `this ffmpeg cannot record from ${options.input.format} (${reason}); install your system's ffmpeg (Debian: apt-get install ffmpeg)`,
        );
      }
      throw new AudioDecodeError(
        `cannot record from ${options.input.format} "${options.input.device}"${
          options.system ? ` and ${options.system.format} "${options.system.device}"` : ''
        } (${reason}); check the device name (--device, --system) or that ffmpeg can read it`,
      );
    }
  }
  return {
    chunks: chunks(),
    channels,
    stop: () => {
      stopped = true;
      child.kill('SIGINT');
    },
  };
}
