import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppServices, createAppServices } from '../../electron/engine/bootstrap.ts';
import { resolvePaths } from '../../electron/engine/config/paths.ts';
import type { ChatRequest, Usage } from '../../electron/engine/contract/chat.ts';
import type { TranscriptSegment } from '../../electron/engine/contract/transcription.ts';
import { type ChatFn, summarizeTranscript } from '../../electron/engine/meetings/summarize.ts';
import { DEFAULT_SUMMARY_TEMPLATE } from '../../electron/engine/store/templates.ts';
import { sharedFile } from '../support/cli.ts';

/**
 * A one-hour meeting summarised by a real local model, stories260K (2,048-token context, a 512-token
 * vocabulary: about four times the tokens a cloud tokenizer counts): the app's own services, the
 * summariser map-reducing, and each request checked against what the model itself counted.
 */

const WORDS = ['release', 'installer', 'budget', 'roadmap', 'hiring', 'customers', 'latency', 'offline'];

/** 360 ten-second turns of two speakers; each turn carries a marker to find it again. */
function oneHourTranscript(): TranscriptSegment[] {
  return Array.from({ length: 360 }, (_, index) => ({
    index,
    start: index * 10,
    end: index * 10 + 9.5,
    text: `Turn${String(index).padStart(3, '0')} about the ${WORDS[index % WORDS.length]}: we agreed to look at the ${WORDS[(index * 3) % WORDS.length]} again next week and to write down what changed since Monday.`,
    speaker: index % 2 === 0 ? 'Ana' : 'Bo',
    confidence: null,
  }));
}

interface Sent {
  prompt: string;
  answer: string;
  /** What the model counted: the prompt as its tokenizer and template made it, and what it wrote. */
  usage: Usage;
}

let dir: string;
let services: AppServices;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-summary-'));
  mkdirSync(join(dir, 'models', 'gguf'), { recursive: true });
  symlinkSync(sharedFile('models', 'gguf', 'stories260K.gguf'), join(dir, 'models', 'gguf', 'stories260K.gguf'));
  services = await createAppServices(resolvePaths({ dataDir: dir }), { env: {} });
}, 60_000);
afterAll(async () => {
  await services?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('summaries of a one-hour meeting on a 2,048-token local model', () => {
  it('map-reduces: every chunk sent once, no request over the context, every chunk summary reduced', async () => {
    const { engine } = services;
    const target = await engine.chatTarget({}, { profile: 'summarize' });
    expect(target).toMatchObject({ providerId: 'local', model: 'stories260K', contextTokens: 2048 });

    const sent: Sent[] = [];
    const recording: ChatFn = async function* (request: ChatRequest, options) {
      const entry: Sent = { prompt: String(request.messages[0]!.content), answer: '', usage: {} as Usage };
      for await (const event of engine.chat(request, options)) {
        if (event.type === 'text') entry.answer += event.text;
        if (event.type === 'finish' && event.usage) entry.usage = event.usage;
        yield event;
      }
      sent.push(entry);
    };
    const segments = oneHourTranscript();
    const summary = await summarizeTranscript(segments, {
      chat: recording,
      template: DEFAULT_SUMMARY_TEMPLATE,
      target,
      // Short answers keep the test to seconds on two shared cores; the chunking is the same.
      maxOutputTokens: 32,
    });
    expect(summary.model).toBe('local/stories260K');

    // No request over the context: the model's own count of each prompt, plus what it wrote.
    for (const request of sent) {
      expect(request.usage.estimated).toBe(false);
      expect(request.usage.inputTokens + 32).toBeLessThanOrEqual(2048);
      expect(request.usage.outputTokens).toBeLessThanOrEqual(32);
    }
    // Every turn went out in exactly one map request, whole, in order.
    const isReduction = (request: Sent) => request.prompt.includes('These are the summaries of its parts');
    const maps = sent.filter((request) => !isReduction(request));
    expect(maps.length).toBeGreaterThan(10);
    for (const segment of segments) {
      const marker = segment.text.slice(0, 7);
      expect(
        maps.filter((request) => request.prompt.includes(marker)),
        marker,
      ).toHaveLength(1);
    }
    const order = maps.flatMap((request) => [...request.prompt.matchAll(/Turn(\d{3})/g)].map((m) => Number(m[1])));
    expect(order).toEqual(segments.map((_, i) => i));
    // The reduce step reads every chunk's summary, under its part number.
    const reductions = sent.filter(isReduction);
    for (const [i, map] of maps.entries()) {
      const partial = `Part ${i + 1}: ${map.answer.trim().slice(0, 40)}`;
      expect(
        reductions.some((request) => request.prompt.includes(partial)),
        partial,
      ).toBe(true);
    }
    expect(reductions.at(-1)!.prompt).toBe(sent.at(-1)!.prompt);
    expect(sent.length).toBe(maps.length + reductions.length);
  }, 900_000);
});
