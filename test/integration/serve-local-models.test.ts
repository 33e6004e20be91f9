import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeetingView } from '../../electron/engine/contract/api.ts';
import { type ServedCli, serveCli, sharedFile, type TestDataDir, testDataDir } from '../support/cli.ts';
import { total } from '../support/prometheus.ts';

/**
 * `switchboard serve` on a machine whose models are local: a Whisper (the committed random-weight one)
 * and stories260K (2,048-token context). What OpenAI clients send, what the app's meetings leave in the
 * usage figures, and a prompt longer than the model holds.
 */

let data: TestDataDir;
let served: ServedCli;
beforeAll(async () => {
  data = testDataDir({ whisper: true, stories: true });
  served = await serveCli(data);
}, 120_000);
afterAll(async () => {
  await served?.stop();
  data?.remove();
});

async function transcribe(model: string): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(sharedFile('audio', 'jfk.wav'))]), 'jfk.wav');
  form.append('model', model);
  return served.fetch('/v1/audio/transcriptions', { method: 'POST', body: form });
}

describe('POST /v1/audio/transcriptions on the local Whisper', () => {
  it('takes whisper-1, the id /v1/models lists and the bare model id', async () => {
    const listed = (await (await served.fetch('/v1/models')).json()) as { data: { id: string }[] };
    const whisperId = listed.data.map((model) => model.id).find((id) => id.endsWith('/whisper-tiny-random'));
    expect(whisperId).toBe('local/whisper-tiny-random');

    for (const model of ['whisper-1', whisperId!, 'whisper-tiny-random']) {
      const response = await transcribe(model);
      const body = await response.text();
      expect(response.status, `model=${model}: ${body}`).toBe(200);
      expect(response.headers.get('x-switchboard-provider')).toBe('local');
      expect(response.headers.get('x-switchboard-model')).toBe('whisper-tiny-random');
      expect((JSON.parse(body) as { text: string }).text.length).toBeGreaterThan(0);
    }
  }, 180_000);

  it('still answers 404 for a model nobody has', async () => {
    const response = await transcribe('whisper-large-v9');
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('whisper-large-v9');
  });
});

describe('usage of a meeting transcribed in the app', () => {
  it('counts the finished transcription as a success, not as cancelled', async () => {
    const form = new FormData();
    form.append('file', new Blob([readFileSync(sharedFile('audio', 'jfk.wav'))]), 'jfk.wav');
    const { uploadId } = (await (await served.fetch('/api/app/upload', { method: 'POST', body: form })).json()) as {
      uploadId: string;
    };
    const before = await requestCounts();
    const queued = await served.call<{ id: string }>('meetings.transcribe', { uploadId, title: 'Usage check' });
    await expect
      .poll(async () => (await served.call<MeetingView>('meetings.get', { id: queued.id })).status, { timeout: 60_000 })
      .toBe('done');
    await expect.poll(async () => (await requestCounts()).success - before.success).toBe(1);
    expect((await requestCounts()).cancelled).toBe(before.cancelled);
  }, 180_000);
});

/** The local provider's requests by outcome, from /metrics. */
async function requestCounts(): Promise<{ success: number; cancelled: number }> {
  const text = await (await served.fetch('/metrics')).text();
  const count = (status: string) => total(text, 'switchboard_requests_total', { provider: 'local', status });
  return { success: count('success'), cancelled: count('cancelled') };
}

describe('POST /v1/chat/completions with a prompt longer than the local model holds', () => {
  it('answers 400 context_length_exceeded and says how long each is, instead of cutting the prompt', async () => {
    const long = 'We went through the release plan line by line. '.repeat(400);
    const response = await served.fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', messages: [{ role: 'user', content: long }], max_tokens: 16 }),
    });
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(response.status, JSON.stringify(body)).toBe(400);
    expect(body.error.code).toBe('context_length_exceeded');
    expect(body.error.message).toMatch(/the prompt is (more than )?\d+ tokens, but stories260K holds 2048 tokens here/);

    const fits = await served.fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'stories260K',
        messages: [{ role: 'user', content: 'Once upon a time' }],
        max_tokens: 8,
      }),
    });
    expect(fits.status).toBe(200);
  }, 120_000);
});

describe('stopping after the local model has run', () => {
  // The chats above loaded llama.cpp, and with it signal-exit (node-llama-cpp's dependencies), which
  // re-raises a signal nobody else listens to: the server must still stop as it was asked to.
  it('SIGTERM stops it cleanly: exit 0, its server record and the WAL removed', async () => {
    expect(existsSync(join(data.dir, 'server.json'))).toBe(true);
    const exited = new Promise((resolve) => served.child.once('exit', (code, signal) => resolve({ code, signal })));
    served.child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(existsSync(join(data.dir, 'server.json'))).toBe(false);
    expect(existsSync(join(data.dir, 'switchboard.db-wal'))).toBe(false);
  }, 60_000);
});
