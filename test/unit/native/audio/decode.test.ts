import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioDecodeError, decodeAudio, ffmpegPath } from '../../../../native/audio/index.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..', '..');
const shared = path.resolve(repoRoot, '..', 'shared');
const jfkWav = path.join(shared, 'audio', 'jfk.wav');
const jfkMp3 = path.join(shared, 'audio', 'jfk.mp3');
/** Proves a path needs no ffmpeg: any attempt to run it fails. */
const NO_FFMPEG = '/nonexistent/ffmpeg';

let dir: string;
beforeAll(async () => {
  if (!existsSync(jfkWav) || !existsSync(jfkMp3)) {
    throw new Error(`test audio missing: ${shared}/audio/jfk.wav and jfk.mp3 come with ../shared`);
  }
  dir = await mkdtemp(path.join(tmpdir(), 'switchboard-audio-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Encoding = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'float64';

/** A WAV file written by hand, so the pure-JS reader is checked against known samples. */
function wavFile(channels: Float32Array[], rate: number, encoding: Encoding, extensible = false): Uint8Array {
  const bytes = { pcm8: 1, pcm16: 2, pcm24: 3, pcm32: 4, float32: 4, float64: 8 }[encoding];
  const isFloat = encoding.startsWith('float');
  const frames = channels[0]!.length;
  const blockAlign = bytes * channels.length;
  const fmtSize = extensible ? 40 : 16;
  const buffer = new DataView(new ArrayBuffer(12 + 8 + fmtSize + 8 + frames * blockAlign));
  const text = (offset: number, s: string) => {
    for (let i = 0; i < s.length; i++) buffer.setUint8(offset + i, s.charCodeAt(i));
  };
  text(0, 'RIFF');
  buffer.setUint32(4, buffer.byteLength - 8, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  buffer.setUint32(16, fmtSize, true);
  const code = isFloat ? 3 : 1;
  buffer.setUint16(20, extensible ? 0xfffe : code, true);
  buffer.setUint16(22, channels.length, true);
  buffer.setUint32(24, rate, true);
  buffer.setUint32(28, rate * blockAlign, true);
  buffer.setUint16(32, blockAlign, true);
  buffer.setUint16(34, bytes * 8, true);
  if (extensible) {
    buffer.setUint16(36, 22, true);
    buffer.setUint16(38, bytes * 8, true);
    buffer.setUint16(44, code, true); // first two bytes of the sub-format GUID
  }
  const data = 20 + fmtSize;
  text(data, 'data');
  buffer.setUint32(data + 4, frames * blockAlign, true);
  let offset = data + 8;
  for (let f = 0; f < frames; f++) {
    for (const channel of channels) {
      const v = channel[f]!;
      if (encoding === 'pcm8') buffer.setUint8(offset, Math.round(v * 127) + 128);
      else if (encoding === 'pcm16') buffer.setInt16(offset, Math.round(v * 32767), true);
      else if (encoding === 'pcm24') {
        const i = Math.round(v * 8388607);
        buffer.setUint8(offset, i & 0xff);
        buffer.setUint8(offset + 1, (i >> 8) & 0xff);
        buffer.setInt8(offset + 2, i >> 16);
      } else if (encoding === 'pcm32') buffer.setInt32(offset, Math.round(v * 2147483647), true);
      else if (encoding === 'float32') buffer.setFloat32(offset, v, true);
      else buffer.setFloat64(offset, v, true);
      offset += bytes;
    }
  }
  return new Uint8Array(buffer.buffer);
}

function sine(frequency: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  return Float32Array.from(
    { length: Math.round(rate * seconds) },
    (_, i) => amplitude * Math.sin((2 * Math.PI * frequency * i) / rate),
  );
}

/** Largest difference from the ideal 16 kHz tone, ignoring the filter's edge effects. */
function errorAgainstTone(samples: Float32Array, frequency: number, amplitude = 0.5): number {
  let worst = 0;
  for (let i = 400; i < samples.length - 400; i++) {
    worst = Math.max(worst, Math.abs(samples[i]! - amplitude * Math.sin((2 * Math.PI * frequency * i) / 16000)));
  }
  return worst;
}

function rms(samples: Float32Array): number {
  let sum = 0;
  for (const v of samples) sum += v * v;
  return Math.sqrt(sum / samples.length);
}

/** Best normalised correlation between two signals over small shifts (codecs add a little delay). */
function similarity(a: Float32Array, b: Float32Array, maxShift = 2000): number {
  let best = -1;
  for (let shift = -maxShift; shift <= maxShift; shift += 8) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let i = Math.max(0, -shift); i < a.length && i + shift < b.length; i += 4) {
      const x = a[i]!;
      const y = b[i + shift]!;
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    best = Math.max(best, ab / Math.sqrt(aa * bb));
  }
  return best;
}

async function expectInvalid(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AudioDecodeError);
  expect((error as AudioDecodeError).code).toBe('AUDIO_INVALID');
  expect((error as AudioDecodeError).message).toMatch(message);
}

describe('decodeAudio: WAV without ffmpeg', () => {
  it('reads the 16 kHz mono recording as is', async () => {
    const audio = await decodeAudio(jfkWav, { ffmpegPath: NO_FFMPEG });
    expect(audio.sampleRate).toBe(16000);
    expect(audio.samples.length).toBe(176000);
    expect(audio.durationSeconds).toBe(11);
    expect(rms(audio.samples)).toBeGreaterThan(0.01);
  });

  it.each([
    ['pcm8', 8000, 1, 0.03],
    ['pcm16', 16000, 1, 0.001],
    ['pcm24', 44100, 2, 0.002],
    ['pcm32', 48000, 2, 0.002],
    ['float32', 22050, 1, 0.002],
    ['float64', 96000, 3, 0.002],
  ] as const)('%s at %i Hz, %i channel(s), resampled to 16 kHz mono', async (encoding, rate, channels, tolerance) => {
    const tone = sine(440, rate, 1);
    const file = path.join(dir, `${encoding}-${rate}.wav`);
    await writeFile(
      file,
      wavFile(
        Array.from({ length: channels }, () => tone),
        rate,
        encoding,
      ),
    );
    const audio = await decodeAudio(file, { ffmpegPath: NO_FFMPEG });
    expect(audio.samples.length).toBe(16000);
    expect(audio.durationSeconds).toBe(1);
    expect(errorAgainstTone(audio.samples, 440)).toBeLessThan(tolerance);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE and averages the channels', async () => {
    const left = sine(440, 48000, 1, 0.8);
    const right = new Float32Array(left.length); // silent channel: the mix is half as loud
    const file = path.join(dir, 'extensible.wav');
    await writeFile(file, wavFile([left, right], 48000, 'pcm16', true));
    const audio = await decodeAudio(file, { ffmpegPath: NO_FFMPEG });
    expect(errorAgainstTone(audio.samples, 440, 0.4)).toBeLessThan(0.002);
  });

  it('filters out what 16 kHz cannot hold instead of folding it into the speech band', async () => {
    const file = path.join(dir, 'ultrasonic.wav');
    await writeFile(file, wavFile([sine(12000, 48000, 1)], 48000, 'float32'));
    const audio = await decodeAudio(file, { ffmpegPath: NO_FFMPEG });
    // A 12 kHz tone would alias to 4 kHz at full level without the low-pass; it must all but vanish.
    expect(rms(audio.samples.subarray(400, -400))).toBeLessThan(0.003);
  });

  it('reads a recording cut off before its header was finished, up to the last whole frame', async () => {
    const whole = wavFile([sine(440, 16000, 1)], 16000, 'pcm16');
    const file = path.join(dir, 'cut.wav');
    await writeFile(file, whole.subarray(0, 44 + 8001 * 2 + 1));
    const audio = await decodeAudio(file, { ffmpegPath: NO_FFMPEG });
    expect(audio.samples.length).toBe(8001);
  });

  it('reads one stretch of one channel, from disk for that stretch alone', async () => {
    // A call recorded as two channels: a 440 Hz tone on the first, 1 kHz on the second, 4 s.
    const me = sine(440, 16000, 4);
    const them = sine(1000, 16000, 4, 0.3);
    const file = path.join(dir, 'two-channels.wav');
    await writeFile(file, wavFile([me, them], 16000, 'pcm16'));
    const stretch = await decodeAudio(file, { ffmpegPath: NO_FFMPEG, from: 1.5, to: 2.5, channel: 1 });
    expect(stretch.startSeconds).toBe(1.5);
    expect(stretch.durationSeconds).toBe(4);
    expect(stretch.samples.length).toBe(16000);
    // Sample i of the stretch is sample 24000 + i of the second channel.
    expect(errorAgainstTone(stretch.samples, 1000, 0.3)).toBeLessThan(0.001);
    const first = await decodeAudio(file, { ffmpegPath: NO_FFMPEG, channel: 0 });
    expect(errorAgainstTone(first.samples, 440)).toBeLessThan(0.001);
    await expectInvalid(decodeAudio(file, { channel: 2 }), /has 2 channel\(s\); there is no channel 3/);
    // The same through ffmpeg (FLAC): the channel is picked there.
    const flac = path.join(dir, 'two-channels.flac');
    execFileSync(ffmpegPath(), ['-loglevel', 'error', '-y', '-i', file, flac]);
    const viaFfmpeg = await decodeAudio(flac, { from: 1.5, to: 2.5, channel: 1 });
    expect(viaFfmpeg.samples.length).toBe(16000);
    expect(errorAgainstTone(viaFfmpeg.samples, 1000, 0.3)).toBeLessThan(0.001);
  });

  it('hands WAV encodings it does not read (μ-law) to ffmpeg', async () => {
    const file = path.join(dir, 'mulaw.wav');
    execFileSync(ffmpegPath(), ['-loglevel', 'error', '-y', '-i', jfkWav, '-c:a', 'pcm_mulaw', file]);
    const audio = await decodeAudio(file);
    expect(audio.durationSeconds).toBeCloseTo(11, 1);
    const original = await decodeAudio(jfkWav);
    expect(similarity(audio.samples, original.samples, 0)).toBeGreaterThan(0.99);
  });
});

describe('decodeAudio: other formats through ffmpeg', () => {
  it('decodes the MP3 to the same speech as the WAV', async () => {
    const [mp3, wav] = await Promise.all([decodeAudio(jfkMp3), decodeAudio(jfkWav)]);
    expect(mp3.sampleRate).toBe(16000);
    expect(mp3.durationSeconds).toBeGreaterThan(10.9);
    expect(mp3.durationSeconds).toBeLessThan(11.2);
    expect(similarity(mp3.samples, wav.samples)).toBeGreaterThan(0.9);
  });

  it.each([
    ['m4a', '44100', ['-c:a', 'aac', '-b:a', '64k']],
    ['ogg', '44100', ['-c:a', 'libvorbis']],
    ['webm', '48000', ['-c:a', 'libopus']],
    ['flac', '44100', ['-c:a', 'flac']],
  ])('decodes %s made from the WAV', async (extension, rate, codec) => {
    const file = path.join(dir, `jfk.${extension}`);
    // Stereo at a music rate, so the decode also has to downmix and resample.
    execFileSync(ffmpegPath(), ['-loglevel', 'error', '-y', '-i', jfkWav, '-ar', rate, '-ac', '2', ...codec, file]);
    const [decoded, wav] = await Promise.all([decodeAudio(file), decodeAudio(jfkWav)]);
    expect(decoded.durationSeconds).toBeGreaterThan(10.9);
    expect(decoded.durationSeconds).toBeLessThan(11.2);
    expect(similarity(decoded.samples, wav.samples)).toBeGreaterThan(0.9);
  });
});

describe('decodeAudio: files that are not audio', () => {
  it('rejects a corrupt file with AUDIO_INVALID and what to do', async () => {
    const file = path.join(dir, 'corrupt.mp3');
    await writeFile(file, Buffer.from('this is not an mp3 file at all, just text pretending'.repeat(50)));
    await expectInvalid(decodeAudio(file), /not a readable audio file.*not damaged.*convert it/);
  });

  it('rejects a WAV header with no audio data', async () => {
    const file = path.join(dir, 'header-only.wav');
    await writeFile(file, wavFile([sine(440, 16000, 1)], 16000, 'pcm16').subarray(0, 30));
    await expectInvalid(decodeAudio(file, { ffmpegPath: NO_FFMPEG }), /damaged WAV file/);
  });

  it('rejects a WAV with no samples', async () => {
    const file = path.join(dir, 'empty.wav');
    await writeFile(file, wavFile([new Float32Array(0)], 16000, 'pcm16'));
    await expectInvalid(decodeAudio(file, { ffmpegPath: NO_FFMPEG }), /contains no audio/);
  });

  it('says so when the file does not exist', async () => {
    await expectInvalid(decodeAudio(path.join(dir, 'missing.wav')), /does not exist/);
  });

  it('says to install ffmpeg when a compressed format needs it and there is none', async () => {
    await expectInvalid(decodeAudio(jfkMp3, { ffmpegPath: NO_FFMPEG }), /ffmpeg was not found/);
  });
});
