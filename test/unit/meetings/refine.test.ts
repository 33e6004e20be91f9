import { describe, expect, it } from 'vitest';
import { refineTranscript } from '../../../electron/engine/meetings/refine.ts';

const seg = (start: number, end: number, text: string, confidence: number | null, channel?: 'me' | 'them') => ({
  start,
  end,
  text,
  speaker: null,
  confidence,
  ...(channel ? { channel } : {}),
});

describe('refineTranscript', () => {
  it('keeps, stretch by stretch, whichever pass was more confident, and speech only one pass has', () => {
    const live = [seg(0, 4, 'live one', 0.9), seg(5, 8, 'live two', 0.3), seg(9, 10, 'live three', 0.5)];
    const final = [
      seg(0.1, 2, 'final one a', 0.6),
      seg(2, 4.1, 'final one b', 0.7),
      seg(5, 8.2, 'final two', 0.8),
      seg(11, 12, 'final four', 0.4),
    ];
    expect(refineTranscript(live, final).map((s) => [s.index, s.text])).toEqual([
      [0, 'live one'],
      [1, 'final two'],
      [2, 'live three'],
      [3, 'final four'],
    ]);
  });

  it('compares each channel on its own and interleaves the sides in time order', () => {
    const live = [seg(0, 3, 'me live', 0.2, 'me'), seg(1, 2, 'them live', 0.9, 'them')];
    const final = [seg(0, 3, 'me final', 0.5, 'me'), seg(1, 2, 'them final', 0.1, 'them')];
    expect(refineTranscript(live, final).map((s) => [s.text, s.channel])).toEqual([
      ['me final', 'me'],
      ['them live', 'them'],
    ]);
  });
});
