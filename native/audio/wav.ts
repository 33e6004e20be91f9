import { AudioDecodeError } from './errors.ts';

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

export interface PcmAudio {
  /** Mono (one channel, or the channels averaged), at `sampleRate`. */
  samples: Float32Array;
  sampleRate: number;
}

/** RIFF/WAVE, the one container decoded without ffmpeg. */
export function isWav(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WAVE';
}

/** A WAVE file in an encoding this reader does not do (A-law, μ-law, ADPCM…): ffmpeg may. */
export class UnsupportedWavEncoding extends Error {}

/** Where a WAVE file's samples are and how they are encoded. */
export interface WavLayout {
  code: number;
  channels: number;
  sampleRate: number;
  bits: number;
  blockAlign: number;
  /** Byte offset of the first sample. */
  dataOffset: number;
  /** Whole frames present, whatever the header claims (a recording cut off before its header was finished). */
  frames: number;
}

/**
 * Finds the format and the data chunk in the start of a WAVE file (`head`, at least up to the data chunk;
 * undefined when the data chunk starts past it). `fileSize` bounds the data: a header that claims more
 * bytes than the file holds is read up to the last whole frame.
 */
export function readWavLayout(head: Uint8Array, fileSize: number, fileName: string): WavLayout | undefined {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let format: Omit<WavLayout, 'dataOffset' | 'frames'> | undefined;
  for (let offset = 12; offset + 8 <= head.length; ) {
    const id = ascii(head, offset, 4);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ' && size >= 16 && body + 16 <= head.length) {
      let code = view.getUint16(body, true);
      if (code === FORMAT_EXTENSIBLE && size >= 40 && body + 26 <= head.length) code = view.getUint16(body + 24, true);
      format = {
        code,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!format) break;
      const { code, channels, sampleRate, bits, blockAlign } = format;
      if (!readerFor(code, bits)) throw new UnsupportedWavEncoding(`WAV format ${code}, ${bits} bit`);
      if (channels < 1 || sampleRate < 1 || blockAlign < (channels * bits) / 8) {
        throw new AudioDecodeError(
          `${fileName} has an invalid WAV header (${channels} channels, ${sampleRate} Hz); re-export it`,
        );
      }
      const bytes = Math.max(0, Math.min(fileSize - body, size));
      return { ...format, dataOffset: body, frames: Math.floor(bytes / blockAlign) };
    }
    offset = body + size + (size % 2);
  }
  if (head.length >= fileSize) {
    throw new AudioDecodeError(
      `${fileName} is a damaged WAV file (no ${format ? 'data' : 'format'} chunk); re-export or re-record it`,
    );
  }
  return undefined;
}

/**
 * Samples of whole frames of WAV data: one channel (`channel`, from 0), or all channels averaged. Integer
 * PCM (8, 16, 24, 32 bit) and IEEE float (32, 64 bit).
 */
export function decodePcm(data: Uint8Array, layout: WavLayout, fileName: string, channel?: number): Float32Array {
  const { code, channels, bits, blockAlign } = layout;
  if (channel !== undefined && !(channel >= 0 && channel < channels)) {
    throw new AudioDecodeError(`${fileName} has ${channels} channel(s); there is no channel ${channel + 1}`);
  }
  const sampleReader = readerFor(code, bits)!;
  const bytesPerSample = bits / 8;
  const frames = Math.floor(data.length / blockAlign);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const samples = new Float32Array(frames);
  for (let frame = 0; frame < frames; frame++) {
    const at = frame * blockAlign;
    if (channel !== undefined) {
      samples[frame] = sampleReader(view, at + channel * bytesPerSample);
      continue;
    }
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += sampleReader(view, at + c * bytesPerSample);
    samples[frame] = sum / channels;
  }
  return samples;
}

/**
 * Reads a whole WAVE file held in memory, including WAVE_FORMAT_EXTENSIBLE, any sample rate and channel
 * count: one channel, or the channels averaged.
 */
export function decodeWav(bytes: Uint8Array, fileName: string, channel?: number): PcmAudio {
  const layout = readWavLayout(bytes, bytes.length, fileName)!;
  const data = bytes.subarray(layout.dataOffset, layout.dataOffset + layout.frames * layout.blockAlign);
  return { samples: decodePcm(data, layout, fileName, channel), sampleRate: layout.sampleRate };
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
