import { writeFileSync } from 'node:fs';
import { BAND_A, BAND_B } from '../../scripts/diarization-onnx/generate.ts';

/**
 * A "meeting" of two voices the generated diarization models (scripts/diarization-onnx) tell apart:
 * voice A hums inside BAND_A, voice B inside BAND_B, each with a syllable-like 3 Hz swell, turns
 * separated by silence. Written as 16 kHz 16-bit mono WAV.
 */

const RATE = 16_000;
const GAP_SECONDS = 0.8;

export interface ToneTurn {
  voice: 'A' | 'B';
  start: number;
  end: number;
}

function tones(voice: 'A' | 'B'): [number, number] {
  const [low, high] = voice === 'A' ? BAND_A : BAND_B;
  const third = (high - low) / 3;
  return [low + third, high - third];
}

/** Writes the turns (voice and length in seconds, in order) and returns where each one is. */
export function writeToneMeeting(file: string, turns: { voice: 'A' | 'B'; seconds: number }[]): ToneTurn[] {
  const placed: ToneTurn[] = [];
  let at = 0;
  for (const turn of turns) {
    placed.push({ voice: turn.voice, start: at, end: at + turn.seconds });
    at += turn.seconds + GAP_SECONDS;
  }
  const frames = Math.ceil(at * RATE);
  const wav = Buffer.alloc(44 + frames * 2);
  wav.write('RIFF', 0, 'latin1');
  wav.writeUInt32LE(wav.length - 8, 4);
  wav.write('WAVEfmt ', 8, 'latin1');
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20);
  wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(RATE, 24);
  wav.writeUInt32LE(RATE * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36, 'latin1');
  wav.writeUInt32LE(frames * 2, 40);
  for (const turn of placed) {
    const [f1, f2] = tones(turn.voice);
    const from = Math.round(turn.start * RATE);
    const to = Math.round(turn.end * RATE);
    for (let n = from; n < to; n++) {
      const t = (n - from) / RATE;
      const swell = 0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t);
      const sample = 0.2 * swell * (Math.sin(2 * Math.PI * f1 * t) + Math.sin(2 * Math.PI * f2 * t));
      wav.writeInt16LE(Math.round(sample * 32767), 44 + n * 2);
    }
  }
  writeFileSync(file, wav);
  return placed;
}
