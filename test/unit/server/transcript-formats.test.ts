import { describe, expect, it } from 'vitest';
import { formatTranscript } from '../../../electron/engine/server/transcript-formats.ts';

const transcript = {
  duration: 11,
  language: 'en',
  segments: [
    { index: 0, start: 0, end: 4.5, text: ' And so my fellow Americans,', speaker: null, confidence: 0.9 },
    {
      index: 1,
      start: 4.5,
      end: 11,
      text: ' ask not what your country can do for you.',
      speaker: 'S1',
      confidence: null,
    },
  ],
};

describe('transcripts in OpenAI’s response formats', () => {
  it('json and text carry the joined text', () => {
    expect(formatTranscript('json', transcript)).toEqual({
      text: 'And so my fellow Americans, ask not what your country can do for you.',
    });
    expect(formatTranscript('text', transcript)).toBe(
      'And so my fellow Americans, ask not what your country can do for you.\n',
    );
  });

  it('srt and vtt time every segment', () => {
    const srt = formatTranscript('srt', transcript) as string;
    expect(srt).toContain('1\n00:00:00,000 --> 00:00:04,500\nAnd so my fellow Americans,');
    expect(srt).toContain('2\n00:00:04,500 --> 00:00:11,000\nask not what your country can do for you.');
    const vtt = formatTranscript('vtt', transcript) as string;
    expect(vtt.startsWith('WEBVTT')).toBe(true);
    expect(vtt).toContain('00:00:04.500 --> 00:00:11.000');
  });

  it('verbose_json has segments with ids, times and the speaker where known', () => {
    const verbose = formatTranscript('verbose_json', transcript) as {
      duration: number;
      segments: { id: number; start: number; end: number; speaker?: string }[];
    };
    expect(verbose).toMatchObject({ task: 'transcribe', language: 'en', duration: 11 });
    expect(verbose.segments.map((s) => [s.id, s.start, s.end])).toEqual([
      [0, 0, 4.5],
      [1, 4.5, 11],
    ]);
    expect(verbose.segments[1]?.speaker).toBe('S1');
  });
});
