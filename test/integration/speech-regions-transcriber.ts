import { setTimeout as sleep } from 'node:timers/promises';
import type { TranscriptionEvent, TranscriptionRequest } from '../../electron/engine/contract/transcription.ts';
import { decodeAudio } from '../../native/audio/index.ts';

/**
 * A transcriber driven by real audio, for tests of the job queue: it decodes the file (native/audio) and
 * emits one segment per stretch of sound between silences, at a chosen pace. The text names the region
 * (no speech recognition); timing, resumption (startAt) and failure on broken files are real.
 */
export interface SpeechRegionsOptions {
  /** Wall-clock seconds spent per second of audio, so a test can act mid-job. */
  secondsPerAudioSecond?: number;
}

const FRAME_SECONDS = 0.02;
const SILENCE_RMS = 0.01;
// Pauses shorter than this are breaths inside one turn, not the end of it.
const MIN_SILENCE_SECONDS = 0.4;

export function speechRegions(samples: Float32Array, sampleRate: number): { start: number; end: number }[] {
  const frame = Math.round(sampleRate * FRAME_SECONDS);
  const regions: { start: number; end: number }[] = [];
  let regionStart: number | undefined;
  let lastLoud = 0;
  for (let offset = 0; offset < samples.length; offset += frame) {
    let energy = 0;
    const end = Math.min(samples.length, offset + frame);
    for (let i = offset; i < end; i++) energy += samples[i]! * samples[i]!;
    const time = offset / sampleRate;
    if (Math.sqrt(energy / (end - offset)) >= SILENCE_RMS) {
      regionStart ??= time;
      lastLoud = end / sampleRate;
    } else if (regionStart !== undefined && time - lastLoud >= MIN_SILENCE_SECONDS) {
      regions.push({ start: regionStart, end: lastLoud });
      regionStart = undefined;
    }
  }
  if (regionStart !== undefined) regions.push({ start: regionStart, end: lastLoud });
  return regions;
}

export function speechRegionsTranscriber(options: SpeechRegionsOptions = {}) {
  const pace = options.secondsPerAudioSecond ?? 0;
  return async function* transcribe(
    request: TranscriptionRequest,
    signal: AbortSignal,
  ): AsyncIterable<TranscriptionEvent> {
    const audio = await decodeAudio(request.filePath, { signal });
    const startAt = request.startAt ?? 0;
    const regions = speechRegions(audio.samples, audio.sampleRate).filter((region) => region.end > startAt);
    let index = 0;
    let position = startAt;
    for (const region of regions) {
      await sleep(Math.max(0, region.end - position) * pace * 1000, undefined, { signal });
      position = region.end;
      const start = Math.round(Math.max(region.start, startAt) * 100) / 100;
      const end = Math.round(region.end * 100) / 100;
      yield {
        type: 'segment',
        segment: {
          index: index++,
          start,
          end,
          text: `Speech from ${start} to ${end} seconds.`,
          speaker: null,
          confidence: null,
        },
      };
      yield {
        type: 'progress',
        fraction: region.end / audio.durationSeconds,
        processedSeconds: region.end,
        totalSeconds: audio.durationSeconds,
      };
    }
    yield {
      type: 'done',
      durationSeconds: audio.durationSeconds,
      language: request.language ?? 'en',
      model: 'speech-regions',
    };
  };
}
