import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { AudioDecodeError } from './errors.ts';
import { decodeWithFfmpeg } from './ffmpeg.ts';
import { resample } from './resample.ts';
import { decodeWav, isWav, UnsupportedWavEncoding } from './wav.ts';

/** What Whisper (and every speech model here) consumes. */
export const SAMPLE_RATE = 16_000;

export interface DecodedAudio {
  /** Mono, 16 kHz, nominally within [-1, 1]. */
  samples: Float32Array;
  sampleRate: typeof SAMPLE_RATE;
  durationSeconds: number;
}

export interface DecodeOptions {
  signal?: AbortSignal;
  /** ffmpeg binary to use for non-WAV files (default: the npm-shipped one, else PATH). */
  ffmpegPath?: string;
}

/**
 * Decodes wav, mp3, m4a, ogg, webm, flac (anything ffmpeg reads) to 16 kHz mono. WAV is read in
 * JavaScript, so the common case needs no ffmpeg; other formats go through ffmpeg. Every failure is an
 * AudioDecodeError (code AUDIO_INVALID) saying what to do.
 */
export async function decodeAudio(filePath: string, options: DecodeOptions = {}): Promise<DecodedAudio> {
  const name = path.basename(filePath);
  const head = await readHead(filePath);
  let samples: Float32Array;
  if (isWav(head)) {
    try {
      const pcm = decodeWav(await readFile(filePath), name);
      samples = resample(pcm.samples, pcm.sampleRate, SAMPLE_RATE);
    } catch (error) {
      if (!(error instanceof UnsupportedWavEncoding)) throw error;
      samples = await decodeWithFfmpeg(filePath, SAMPLE_RATE, options.signal, options.ffmpegPath);
    }
  } else {
    samples = await decodeWithFfmpeg(filePath, SAMPLE_RATE, options.signal, options.ffmpegPath);
  }
  if (samples.length === 0) {
    throw new AudioDecodeError(`${name} contains no audio; choose a recording with sound in it`);
  }
  return { samples, sampleRate: SAMPLE_RATE, durationSeconds: samples.length / SAMPLE_RATE };
}

async function readHead(filePath: string): Promise<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(filePath, 'r');
    const head = new Uint8Array(12);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : 'cannot be read';
    throw new AudioDecodeError(`${filePath} ${reason}; choose an audio file`, { cause: error });
  } finally {
    await handle?.close();
  }
}
