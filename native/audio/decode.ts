import { open } from 'node:fs/promises';
import path from 'node:path';
import { AudioDecodeError } from './errors.ts';
import { decodeWithFfmpeg } from './ffmpeg.ts';
import { resample } from './resample.ts';
import { decodePcm, isWav, readWavLayout, UnsupportedWavEncoding, type WavLayout } from './wav.ts';

/** What Whisper (and every speech model here) consumes. */
export const SAMPLE_RATE = 16_000;
/** Bytes read to find a WAV file's data chunk; real files put it within the first few hundred. */
const HEAD_BYTES = 64 * 1024;

export interface DecodedAudio {
  /** Mono, 16 kHz, nominally within [-1, 1]: the asked-for stretch of the file. */
  samples: Float32Array;
  sampleRate: typeof SAMPLE_RATE;
  /** Where `samples` start in the file, in seconds. */
  startSeconds: number;
  /** Length of the whole file, in seconds (for a recording still being written: so far). */
  durationSeconds: number;
}

export interface DecodeOptions {
  signal?: AbortSignal;
  /** ffmpeg binary to use for non-WAV files (default: the npm-shipped one, else PATH). */
  ffmpegPath?: string;
  /** Only this stretch of the file, in seconds (default: all of it). A WAV file is read from disk for it alone. */
  from?: number;
  to?: number;
  /** Only this channel (0 = the first) instead of all channels averaged. */
  channel?: number;
}

/**
 * Decodes wav, mp3, m4a, ogg, webm, flac (anything ffmpeg reads) to 16 kHz mono. WAV is read in
 * JavaScript, so the common case needs no ffmpeg, and a stretch of a long (or still growing) WAV costs
 * only that stretch; other formats go through ffmpeg. Every failure is an AudioDecodeError (code
 * AUDIO_INVALID) saying what to do.
 */
export async function decodeAudio(filePath: string, options: DecodeOptions = {}): Promise<DecodedAudio> {
  const name = path.basename(filePath);
  const from = Math.max(0, options.from ?? 0);
  let decoded: { samples: Float32Array; durationSeconds: number } | undefined;
  const file = await openAudio(filePath);
  try {
    if (isWav(file.head)) {
      try {
        const layout =
          readWavLayout(file.head, file.size, name) ?? readWavLayout(await file.read(0, file.size), file.size, name)!;
        decoded = await readWavStretch(file, layout, name, from, options);
      } catch (error) {
        if (!(error instanceof UnsupportedWavEncoding)) throw error;
      }
    }
  } finally {
    await file.close();
  }
  if (!decoded) {
    const all = await decodeWithFfmpeg(filePath, SAMPLE_RATE, options.signal, options.ffmpegPath, options.channel);
    const end = options.to === undefined ? all.length : Math.round(options.to * SAMPLE_RATE);
    decoded = { samples: all.subarray(Math.round(from * SAMPLE_RATE), end), durationSeconds: all.length / SAMPLE_RATE };
  }
  if (decoded.durationSeconds === 0) {
    throw new AudioDecodeError(`${name} contains no audio; choose a recording with sound in it`);
  }
  return {
    samples: decoded.samples,
    sampleRate: SAMPLE_RATE,
    startSeconds: from,
    durationSeconds: decoded.durationSeconds,
  };
}

async function readWavStretch(
  file: AudioFile,
  layout: WavLayout,
  name: string,
  from: number,
  options: DecodeOptions,
): Promise<{ samples: Float32Array; durationSeconds: number }> {
  const first = Math.min(layout.frames, Math.floor(from * layout.sampleRate));
  const last = Math.min(
    layout.frames,
    options.to === undefined ? layout.frames : Math.ceil(options.to * layout.sampleRate),
  );
  const bytes = await file.read(
    layout.dataOffset + first * layout.blockAlign,
    Math.max(0, last - first) * layout.blockAlign,
  );
  const pcm = decodePcm(bytes, layout, name, options.channel);
  return { samples: resample(pcm, layout.sampleRate, SAMPLE_RATE), durationSeconds: layout.frames / layout.sampleRate };
}

interface AudioFile {
  head: Uint8Array;
  size: number;
  read(position: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

async function openAudio(filePath: string): Promise<AudioFile> {
  try {
    const handle = await open(filePath, 'r');
    const read = async (position: number, length: number) => {
      const bytes = new Uint8Array(length);
      const { bytesRead } = await handle.read(bytes, 0, length, position);
      return bytes.subarray(0, bytesRead);
    };
    const { size } = await handle.stat();
    return { head: await read(0, Math.min(size, HEAD_BYTES)), size, read, close: () => handle.close() };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : 'cannot be read';
    throw new AudioDecodeError(`${filePath} ${reason}; choose an audio file`, { cause: error });
  }
}
