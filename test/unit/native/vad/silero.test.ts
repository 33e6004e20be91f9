import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../../../../native/audio/index.ts';
import { type Span, SpeechSegmenter } from '../../../../native/vad/segmenter.ts';
import { detectSpeech, VAD_SAMPLE_RATE, VoiceActivityDetector } from '../../../../native/vad/silero.ts';
import { standupTurnPauses } from '../../../support/standup.ts';

const shared = path.resolve(import.meta.dirname, '..', '..', '..', '..', '..', 'shared');
const standup = path.join(shared, 'audio', 'standup.wav');
const standupText = path.join(shared, 'audio', 'standup.txt');

let samples: Float32Array;
beforeAll(async () => {
  for (const file of [standup, standupText]) {
    if (!existsSync(file)) throw new Error(`test audio missing: ${file} comes with ../shared`);
  }
  samples = (await decodeAudio(standup)).samples;
});

describe('Silero voice activity detection', () => {
  it('finds every turn of the stand-up: a cut inside each pause between turns, none across a turn', async () => {
    const turns = readFileSync(standupText, 'utf8').trim().split('\n').length;
    const pauses = standupTurnPauses(samples);
    expect(pauses).toHaveLength(turns - 1);
    const spans = await detectSpeech(samples);
    for (const pause of pauses) {
      // Some utterance ends and the next begins inside the pause: nothing spans it.
      expect(spans.some((s) => s.start < pause.start + 0.2 && s.end > pause.end - 0.2)).toBe(false);
      const before = spans.filter((s) => s.end <= pause.end);
      expect(before.at(-1)!.end).toBeGreaterThan(pause.start - 0.3);
    }
    // Every turn's speech is inside an utterance; ordered, non-overlapping.
    spans.forEach((span, i) => {
      expect(span.end).toBeGreaterThan(span.start);
      if (i > 0) expect(span.start).toBeGreaterThanOrEqual(spans[i - 1]!.end);
    });
    expect(spans[0]!.start).toBeLessThan(0.5);
    expect(spans.at(-1)!.end).toBeGreaterThan(samples.length / VAD_SAMPLE_RATE - 2);
  });

  it('hears no speech in loud white noise', async () => {
    let seed = 7;
    const noise = new Float32Array(10 * VAD_SAMPLE_RATE).map(() => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return (seed / 2 ** 31 - 0.5) * 0.6;
    });
    expect(await detectSpeech(noise)).toEqual([]);
  });

  it('cuts a live stream fed in odd-sized chunks exactly as it cuts the whole recording', async () => {
    const whole = await detectSpeech(samples);
    const vad = await VoiceActivityDetector.create();
    const live: Span[] = [];
    try {
      for (let offset = 0; offset < samples.length; offset += 4001) {
        live.push(...(await vad.push(samples.subarray(offset, offset + 4001))));
        // An utterance is reported once its pause has lasted minSilence, long before the stream ends.
        for (const span of live) expect(span.end).toBeLessThanOrEqual(vad.position);
      }
      live.push(...(await vad.flush()));
    } finally {
      await vad.close();
    }
    expect(live).toEqual(whole);
  });
});

describe('SpeechSegmenter', () => {
  const frame = 0.032;
  const feed = (segmenter: SpeechSegmenter, probabilities: number[]) => probabilities.flatMap((p) => segmenter.push(p));

  it('cuts speech that runs past the longest utterance at its least speech-like frame, and pads nothing into a neighbour', () => {
    const segmenter = new SpeechSegmenter(frame, {
      threshold: 0.5,
      negThreshold: 0.35,
      minSilenceSeconds: 0.2,
      minSpeechSeconds: 0.1,
      padSeconds: 0.1,
      maxUtteranceSeconds: 3.2,
    });
    // 100 frames (3.2 s) of speech with one dip at frame 70, then silence.
    const speech = Array.from({ length: 100 }, (_, i) => (i === 70 ? 0.4 : 0.9));
    const spans = [...feed(segmenter, [...speech, ...Array(20).fill(0.01)]), ...segmenter.flush()];
    expect(spans).toHaveLength(2);
    expect(spans[0]).toEqual({ start: 0, end: 2.24 });
    expect(spans[1]!.start).toBe(2.24);
    expect(spans[1]!.end).toBeCloseTo(3.2 + 0.1, 3);
  });

  it('drops bursts shorter than the shortest speech', () => {
    const segmenter = new SpeechSegmenter(frame);
    expect([...feed(segmenter, [0.9, 0.9, ...Array(30).fill(0)]), ...segmenter.flush()]).toEqual([]);
  });
});
