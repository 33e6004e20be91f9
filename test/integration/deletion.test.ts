import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeetingSummary, MeetingView } from '../../electron/engine/contract/api.ts';
import {
  appApiClient,
  CLOUD_PROVIDER,
  makeWorkspace,
  type RunningApp,
  STANDUP_WAV,
  startApp,
  switchboard,
  type Workspace,
} from '../e2e/harness.ts';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';

/**
 * Deleting deletes: one copy of a recording, owned by its meeting and removed with it; audio that only
 * passes through /v1/audio/transcriptions is gone after the answer, and after a kill -9 at the next
 * start; "delete all my data" leaves nothing of the meetings and chats in any file.
 */

const AUDIO = readFileSync(STANDUP_WAV);
// A stretch from the middle of the recording: any file holding the audio holds these bytes.
const SIGNATURE = AUDIO.subarray(400_000, 400_256);

let fake: FakeServer;
let workspace: Workspace;
let app: RunningApp;
let token: string;

/** Files under the data dir that hold the given bytes (one removed while we look holds nothing). */
function filesHolding(needle: Buffer | string): string[] {
  return readdirSync(workspace.dataDir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => {
      try {
        return readFileSync(file).includes(needle);
      } catch {
        return false;
      }
    })
    .map((file) => relative(workspace.dataDir, file));
}

const cli = (args: string[]) => switchboard(workspace, args);
const call = <T>(method: string, input: unknown) => appApiClient(app, token).call<T>(method, input);

function multipart(fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  form.append('file', new Blob([AUDIO], { type: 'audio/wav' }), 'standup.wav');
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return form;
}

async function transcribeMeeting(title: string): Promise<MeetingView> {
  const uploadId = await appApiClient(app, token).upload(AUDIO, 'standup.wav');
  const queued = await call<MeetingSummary>('meetings.transcribe', { uploadId, title });
  const meeting = await appApiClient(app, token).settled(queued.id);
  if (meeting.status !== 'done') throw new Error(`the meeting ended ${meeting.status}: ${meeting.error}`);
  return meeting;
}

beforeAll(async () => {
  fake = await startFakeOpenAI({ models: [CLOUD_PROVIDER.model] });
  workspace = makeWorkspace({ cloudUrl: `${fake.url}/v1`, cloudKey: FAKE_OPENAI_KEY, cloudFallback: false });
  app = await startApp(workspace);
  token = (await cli(['token'])).stdout.trim();
}, 240_000);
afterAll(async () => {
  await app?.stop();
  await fake?.close();
  workspace?.cleanup();
});

describe('deleting deletes', { timeout: 300_000 }, () => {
  it('keeps one copy of a recording, in the meeting’s storage, and removes it with the meeting', async () => {
    const meeting = await transcribeMeeting('Deleted standup');
    // The upload was moved, not copied: exactly one file holds the audio, and it is the meeting's.
    const holders = filesHolding(SIGNATURE);
    expect(holders).toHaveLength(1);
    expect(holders[0]).toMatch(/^audio\//);
    expect(readdirSync(join(workspace.dataDir, 'uploads'))).toEqual([]);

    await call('meetings.delete', { id: meeting.id });
    expect(filesHolding(SIGNATURE)).toEqual([]);
  });

  it('removes a /v1/audio/transcriptions upload after the answer', async () => {
    const response = await fetch(`${app.origin}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: multipart({ response_format: 'json' }),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(filesHolding(SIGNATURE)).toEqual([]);
  });

  it('after kill -9 during /v1/audio/transcriptions, the next start leaves no orphaned upload', async () => {
    const killed = app;
    const request = fetch(`${killed.origin}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: multipart(),
    }).catch(() => undefined);
    const scratch = join(workspace.dataDir, 'tmp', String(killed.pid));
    const deadline = Date.now() + 60_000;
    while (filesHolding(SIGNATURE).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(filesHolding(SIGNATURE).map((file) => join(workspace.dataDir, file))[0]).toMatch(new RegExp(`^${scratch}/`));
    process.kill(killed.pid, 'SIGKILL');
    await request;
    await killed.stop();
    expect(filesHolding(SIGNATURE)).toHaveLength(1);

    app = await startApp(workspace);
    expect(existsSync(scratch)).toBe(false);
    expect(filesHolding(SIGNATURE)).toEqual([]);
  });

  it('"delete all my data" leaves no meeting, recording, chat or key in any file of the data dir', async () => {
    const meeting = await transcribeMeeting('Quarterly numbers nobody may read');
    await call('providers.addKey', { id: CLOUD_PROVIDER.id, key: 'sk-delete-all-test-0000-zzzz' });
    expect(filesHolding('Quarterly numbers nobody may read').length).toBeGreaterThan(0);
    const segmentText = meeting.segments.find((segment) => segment.text.trim().length > 12)?.text.trim();

    const deleted = await call<{ ok: true }>('data.deleteAll', { confirm: true });
    expect(deleted.ok).toBe(true);
    expect(await call<MeetingSummary[]>('meetings.list', {})).toEqual([]);
    expect(filesHolding(SIGNATURE)).toEqual([]);
    expect(filesHolding('Quarterly numbers nobody may read')).toEqual([]);
    if (segmentText) expect(filesHolding(segmentText)).toEqual([]);
    const providers = await call<{ id: string; keys: string[] }[]>('providers.list', {});
    expect(providers.find((p) => p.id === CLOUD_PROVIDER.id)?.keys).toEqual(['…0000']);
  });

  it('the CLI deletes all data only when told --yes', async () => {
    await transcribeMeeting('CLI deletion');
    const refused = await cli(['data', 'delete-all']);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/--yes/);
    expect((await call<MeetingSummary[]>('meetings.list', {})).length).toBe(1);
    const done = await cli(['data', 'delete-all', '--yes']);
    expect(done.status, done.stderr).toBe(0);
    expect(await call<MeetingSummary[]>('meetings.list', {})).toEqual([]);
    expect(filesHolding(SIGNATURE)).toEqual([]);
  });
});
