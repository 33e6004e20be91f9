import type { Span } from '../../native/vad/index.ts';

/**
 * The pauses between the turns of ../shared/audio/standup.wav (16 kHz samples), measured from the
 * waveform itself: the file is synthetic, digitally quiet for over 0.8 s between the lines of standup.txt,
 * while pauses inside a turn are well under half a second. For the VAD test and benchmark.
 */
export function standupTurnPauses(samples: Float32Array, sampleRate = 16_000): Span[] {
  const pauses: Span[] = [];
  let quietFrom: number | undefined;
  for (let i = 0; i <= samples.length; i++) {
    if (i < samples.length && Math.abs(samples[i]!) < 0.001) quietFrom ??= i;
    else if (quietFrom !== undefined) {
      if (i - quietFrom >= 0.8 * sampleRate && quietFrom > 0 && i < samples.length) {
        pauses.push({ start: quietFrom / sampleRate, end: i / sampleRate });
      }
      quietFrom = undefined;
    }
  }
  return pauses;
}
