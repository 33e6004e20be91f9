import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

/** Bytes before the samples in the WAV files written here (RIFF, fmt, data headers). */
export const WAV_HEADER_BYTES = 44;
/** Sizes a header claims while its file is still being written: readers take "to the end of the file". */
const UNKNOWN_SIZE = 0xffffffff;

/**
 * The header of a 16-bit PCM WAV file. Without `dataBytes` it says "as long as the file": a recording
 * being written can be read (and survives a crash) at every moment, and finishWav writes the real sizes.
 */
export function wavHeader(channels: number, sampleRate: number, dataBytes?: number): Buffer {
  const header = Buffer.alloc(WAV_HEADER_BYTES);
  const blockAlign = channels * 2;
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(dataBytes === undefined ? UNKNOWN_SIZE : 36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * blockAlign, 28);
  header.writeUInt16LE(blockAlign, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes === undefined ? UNKNOWN_SIZE : dataBytes, 40);
  return header;
}

/**
 * Writes the real sizes into the header of a WAV file written with wavHeader (a finished recording, or
 * one a crash cut off: a partly written last frame is dropped). Returns its length in seconds. A few
 * bytes of I/O: synchronous, so recovering at start needs no await.
 */
export function finishWav(file: string): number {
  const handle = openSync(file, 'r+');
  try {
    const head = Buffer.alloc(WAV_HEADER_BYTES);
    readSync(handle, head, 0, WAV_HEADER_BYTES, 0);
    const channels = head.readUInt16LE(22);
    const sampleRate = head.readUInt32LE(24);
    const blockAlign = channels * 2;
    const { size } = fstatSync(handle);
    const dataBytes = Math.floor(Math.max(0, size - WAV_HEADER_BYTES) / blockAlign) * blockAlign;
    ftruncateSync(handle, WAV_HEADER_BYTES + dataBytes);
    writeSync(handle, wavHeader(channels, sampleRate, dataBytes), 0, WAV_HEADER_BYTES, 0);
    fsyncSync(handle);
    return dataBytes / blockAlign / sampleRate;
  } finally {
    closeSync(handle);
  }
}
