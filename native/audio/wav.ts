import { AudioDecodeError } from './errors.ts';

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

export interface PcmAudio {
  /** Mono (channels averaged), at `sampleRate`. */
  samples: Float32Array;
  sampleRate: number;
}

/** RIFF/WAVE, the one container decoded without ffmpeg. */
export function isWav(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WAVE';
}

/** A WAVE file in an encoding this reader does not do (A-law, μ-law, ADPCM…): ffmpeg may. */
export class UnsupportedWavEncoding extends Error {}

/**
 * Reads integer PCM (8, 16, 24, 32 bit) and IEEE float (32, 64 bit) WAVE files, including
 * WAVE_FORMAT_EXTENSIBLE, any sample rate and channel count. A data chunk that claims more bytes than the
 * file holds (a recording cut off before its header was finished) is read up to the last whole frame.
 */
export function decodeWav(bytes: Uint8Array, fileName: string): PcmAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let format: { code: number; channels: number; sampleRate: number; bits: number; blockAlign: number } | undefined;
  let data: Uint8Array | undefined;
  for (let offset = 12; offset + 8 <= bytes.length; ) {
    const id = ascii(bytes, offset, 4);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ' && size >= 16 && body + 16 <= bytes.length) {
      let code = view.getUint16(body, true);
      if (code === FORMAT_EXTENSIBLE && size >= 40 && body + 26 <= bytes.length) code = view.getUint16(body + 24, true);
      format = {
        code,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      data = bytes.subarray(body, Math.min(bytes.length, body + size));
      break;
    }
    offset = body + size + (size % 2);
  }
  if (!format || !data) {
    throw new AudioDecodeError(
      `${fileName} is a damaged WAV file (no ${format ? 'data' : 'format'} chunk); re-export or re-record it`,
    );
  }
  const { code, channels, sampleRate, bits, blockAlign } = format;
  const sampleReader = readerFor(code, bits);
  if (!sampleReader) throw new UnsupportedWavEncoding(`WAV format ${code}, ${bits} bit`);
  const bytesPerSample = bits / 8;
  if (channels < 1 || sampleRate < 1 || blockAlign < channels * bytesPerSample) {
    throw new AudioDecodeError(
      `${fileName} has an invalid WAV header (${channels} channels, ${sampleRate} Hz); re-export it`,
    );
  }

  const frames = Math.floor(data.length / blockAlign);
  const dataView = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const samples = new Float32Array(frames);
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0;
    for (let channel = 0; channel < channels; channel++) {
      sum += sampleReader(dataView, frame * blockAlign + channel * bytesPerSample);
    }
    samples[frame] = sum / channels;
  }
  return { samples, sampleRate };
}

type SampleReader = (view: DataView, offset: number) => number;

function readerFor(code: number, bits: number): SampleReader | undefined {
  if (code === FORMAT_FLOAT) {
    if (bits === 32) return (v, o) => v.getFloat32(o, true);
    if (bits === 64) return (v, o) => v.getFloat64(o, true);
    return undefined;
  }
  if (code !== FORMAT_PCM) return undefined;
  switch (bits) {
    case 8: // 8-bit WAV is unsigned
      return (v, o) => (v.getUint8(o) - 128) / 128;
    case 16:
      return (v, o) => v.getInt16(o, true) / 32768;
    case 24:
      return (v, o) => (v.getUint8(o) | (v.getUint8(o + 1) << 8) | (v.getInt8(o + 2) << 16)) / 8388608;
    case 32:
      return (v, o) => v.getInt32(o, true) / 2147483648;
    default:
      return undefined;
  }
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}
