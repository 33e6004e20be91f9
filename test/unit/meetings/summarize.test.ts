import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TranscriptSegment } from '../../../electron/engine/contract/transcription.ts';
import { parseSummaryAnswer, summarizeTranscript } from '../../../electron/engine/meetings/summarize.ts';
import { DEFAULT_SUMMARY_TEMPLATE } from '../../../electron/engine/store/templates.ts';
import { type EngineOnFake, startEngineOnFakeOpenAI } from './engine-on-fake.ts';

const ANSWER = JSON.stringify({
  summary: 'The team planned the release.',
  action_items: [
    { text: 'Fix the installer by Wednesday', owner: 'Bo' },
    { text: 'Switch summaries to the local model', owner: null },
  ],
  decisions: ['Summaries go to the local model by default'],
});

let fake: EngineOnFake;
let engine: EngineOnFake['engine'];

beforeAll(async () => {
  fake = await startEngineOnFakeOpenAI({ text: `Here you go:\n\`\`\`json\n${ANSWER}\n\`\`\`` });
  engine = fake.engine;
});

afterAll(() => fake.close());

function segmentsWithMarkers(count: number): TranscriptSegment[] {
  return Array.from({ length: count }, (_, index) => ({
    index,
    start: index * 10,
    end: index * 10 + 9,
    text: `Marker${String(index).padStart(3, '0')} we discussed the release schedule, the installer and the monthly cloud budget in detail.`,
    speaker: index % 2 === 0 ? 'Ana' : 'Bo',
    confidence: null,
  }));
}

describe('meeting summaries', () => {
  it('summarises a short transcript in one request through the engine, parsing JSON in a code fence', async () => {
    const before = fake.fake.requests.length;
    const summary = await summarizeTranscript(segmentsWithMarkers(3), {
      chat: (request, options) => engine.chat(request, options),
      template: DEFAULT_SUMMARY_TEMPLATE,
      target: await engine.chatTarget({}),
    });
    const prompts = fake.promptsSince(before);
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain('[0:10] Bo: Marker001');
    expect(summary).toMatchObject({
      model: 'fakeai/gpt-4o-mini',
      summary: 'The team planned the release.',
      actionItems: [
        { text: 'Fix the installer by Wednesday', owner: 'Bo' },
        { text: 'Switch summaries to the local model', owner: null },
      ],
      decisions: ['Summaries go to the local model by default'],
      template: DEFAULT_SUMMARY_TEMPLATE,
    });
  });

  it('map-reduces a transcript longer than the context, every chunk reaching a map request', async () => {
    const before = fake.fake.requests.length;
    const segments = segmentsWithMarkers(80);
    const summary = await summarizeTranscript(segments, {
      chat: (request, options) => engine.chat(request, options),
      template: DEFAULT_SUMMARY_TEMPLATE,
      target: { ...(await engine.chatTarget({})), contextTokens: 900 },
      maxOutputTokens: 200,
    });
    const prompts = fake.promptsSince(before);
    const maps = prompts.filter((prompt) => prompt.includes('Transcript part:') && prompt.includes('Marker'));
    expect(maps.length).toBeGreaterThan(3);
    // Every segment's marker went to exactly one map request: nothing dropped, nothing twice.
    for (const segment of segments) {
      const marker = segment.text.slice(0, 9);
      expect(
        maps.filter((prompt) => prompt.includes(marker)),
        marker,
      ).toHaveLength(1);
    }
    for (const prompt of prompts) expect(Math.ceil(prompt.length / 4)).toBeLessThan(900);
    const final = prompts.at(-1)!;
    expect(final).toContain('These are the summaries of its parts');
    expect(final).toContain('Part 1: The team planned the release.');
    expect(final).toContain('- Action item: Fix the installer by Wednesday (owner: Bo)');
    expect(summary.actionItems[0]).toEqual({ text: 'Fix the installer by Wednesday', owner: 'Bo' });
  });

  it('reduces in rounds when the partial summaries themselves exceed the context', async () => {
    const before = fake.fake.requests.length;
    const segments = segmentsWithMarkers(400);
    await summarizeTranscript(segments, {
      chat: (request, options) => engine.chat(request, options),
      template: DEFAULT_SUMMARY_TEMPLATE,
      target: { ...(await engine.chatTarget({})), contextTokens: 900 },
      maxOutputTokens: 200,
    });
    const prompts = fake.promptsSince(before);
    const maps = prompts.filter((prompt) => prompt.includes('Transcript part:') && prompt.includes('Marker'));
    for (const segment of segments) {
      expect(maps.filter((prompt) => prompt.includes(segment.text.slice(0, 9)))).toHaveLength(1);
    }
    const reductions = prompts.filter((prompt) => prompt.includes('These are the summaries of its parts'));
    expect(reductions.length).toBeGreaterThan(2);
    expect(reductions.at(-1)).toBe(prompts.at(-1));
  });

  it('says so instead of truncating when the context cannot hold even the prompt', async () => {
    await expect(
      summarizeTranscript(segmentsWithMarkers(3), {
        chat: (request, options) => engine.chat(request, options),
        template: DEFAULT_SUMMARY_TEMPLATE,
        target: { ...(await engine.chatTarget({})), contextTokens: 300 },
        maxOutputTokens: 200,
      }),
    ).rejects.toThrow(/CONTEXT_TOO_LONG: .*choose a model with a larger context/);
  });
});

describe('reading a summary answer', () => {
  it('falls back to sections when the model does not answer JSON', () => {
    const answer = `Summary: The beta is ready but the installer fails.

Action items:
- Fix the installer by Wednesday (owner: Bo)
- Ana: run the offline test suite tomorrow
- Share results in the channel

**Decisions**
1. Route summaries to the local model by default`;
    expect(parseSummaryAnswer(answer)).toEqual({
      summary: 'The beta is ready but the installer fails.',
      actionItems: [
        { text: 'Fix the installer by Wednesday', owner: 'Bo' },
        { text: 'run the offline test suite tomorrow', owner: 'Ana' },
        { text: 'Share results in the channel', owner: null },
      ],
      decisions: ['Route summaries to the local model by default'],
    });
  });

  it('keeps prose it cannot structure as the summary, and JSON with other spellings', () => {
    expect(parseSummaryAnswer('Once upon a time, there was a little girl named Lily.')).toEqual({
      summary: 'Once upon a time, there was a little girl named Lily.',
      actionItems: [],
      decisions: [],
    });
    expect(
      parseSummaryAnswer(
        '{"summary": "x", "actionItems": [{"task": "t", "assignee": "none"}, "u"], "decisions": [{"decision": "d"}]}',
      ),
    ).toEqual({
      summary: 'x',
      actionItems: [
        { text: 't', owner: null },
        { text: 'u', owner: null },
      ],
      decisions: ['d'],
    });
  });
});
