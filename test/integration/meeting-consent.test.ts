import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeetingSummary } from '../../electron/engine/contract/api.ts';
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
import { always } from '../fakes/faults.ts';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';

/**
 * Consent for meetings, through the CLI and the HTTP app API, with a cloud provider configured with a
 * key and cloud fallback on (chat may use it): meeting audio reaches it only when the user allows it.
 */

const TRANSCRIPTION_PATH = '/v1/audio/transcriptions';

let fake: FakeServer;
let workspace: Workspace;
let app: RunningApp;
let token: string;
let broken: string;

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => switchboard(workspace, args, { env });
const call = <T>(method: string, input: unknown) => appApiClient(app, token).call<T>(method, input);
const upload = (file: string, name: string) => appApiClient(app, token).upload(readFileSync(file), name);

const settled = (id: string) => appApiClient(app, token).settled(id);

const audioRequests = () => fake.requests.filter((request) => request.path === TRANSCRIPTION_PATH);

beforeAll(async () => {
  fake = await startFakeOpenAI({ models: [CLOUD_PROVIDER.model, 'whisper-1'], text: 'Cloud transcript.' });
  workspace = makeWorkspace({ cloudUrl: `${fake.url}/v1`, cloudKey: FAKE_OPENAI_KEY, cloudFallback: true });
  // Bytes no decoder reads: local Whisper cannot transcribe this file, a cloud provider would take it.
  broken = join(workspace.dir, 'unreadable.wav');
  writeFileSync(broken, Buffer.alloc(48_000, 0x5a));
  app = await startApp(workspace);
  token = (await cli(['token'])).stdout.trim();
}, 240_000);
afterAll(async () => {
  await app?.stop();
  await fake?.close();
  workspace?.cleanup();
});

describe('meeting audio goes to the cloud only with consent', { timeout: 300_000 }, () => {
  it('CLI: a file local Whisper cannot read fails with the setting that allows the cloud; nothing is uploaded', async () => {
    const run = await cli(['transcribe', broken]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/MEETINGS_CLOUD=true/);
    expect(run.stderr).toMatch(/meetings_cloud: true/);
    expect(run.stderr).toContain(CLOUD_PROVIDER.label);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(audioRequests()).toEqual([]);
  });

  it('CLI: a readable file is transcribed on this machine, and the meeting says so', async () => {
    const run = await cli(['transcribe', STANDUP_WAV, '--format', 'md']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('Transcribed on this machine by whisper-tiny-random');
    expect(audioRequests()).toEqual([]);
  });

  it('CLI: with MEETINGS_CLOUD=true the unreadable file goes to the cloud, and the export names who transcribed it', async () => {
    const run = await cli(['transcribe', broken, '--format', 'md'], { MEETINGS_CLOUD: 'true' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Transcribed by ${CLOUD_PROVIDER.label} whisper-1 (cloud)`);
    expect(audioRequests()).toHaveLength(1);
  });

  it('CLI: when every provider fails, the error names the Whisper model that ran, not the chat model', async () => {
    fake.setFaults(always('server-error'));
    try {
      const run = await cli(['transcribe', broken], { MEETINGS_CLOUD: 'true' });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(/Local \(llama\.cpp \+ Whisper\) \(whisper-tiny-random\)/);
      expect(run.stderr).toContain(`${CLOUD_PROVIDER.label} (whisper-1)`);
      expect(run.stderr).not.toContain('stories260K');
    } finally {
      fake.setFaults(undefined);
    }
  });

  it('app API: the meeting waits for an answer; no keeps the audio here, yes sends it once and says by whom', async () => {
    const before = audioRequests().length;
    const first = await call<MeetingSummary>('meetings.transcribe', { uploadId: await upload(broken, 'call.wav') });
    const asked = await settled(first.id);
    expect(asked.status).toBe('failed');
    expect(asked.consentProviderId).toBe(CLOUD_PROVIDER.id);
    expect(asked.error).toMatch(/^CONSENT_REQUIRED: /);
    const declined = await call<MeetingSummary>('meetings.answerConsent', { id: first.id, allow: false });
    expect(declined.status).toBe('failed');
    expect(declined.consentProviderId).toBeUndefined();
    expect(declined.error).toMatch(/you chose to keep this recording on this machine/);
    expect(audioRequests().length).toBe(before);

    const second = await call<MeetingSummary>('meetings.transcribe', { uploadId: await upload(broken, 'call2.wav') });
    expect((await settled(second.id)).consentProviderId).toBe(CLOUD_PROVIDER.id);
    await call('meetings.answerConsent', { id: second.id, allow: true });
    const done = await settled(second.id);
    expect(done.status).toBe('done');
    expect(done.transcribedBy).toEqual([
      { providerId: CLOUD_PROVIDER.id, providerLabel: CLOUD_PROVIDER.label, model: 'whisper-1', onMachine: false },
    ]);
    expect(audioRequests().length).toBe(before + 1);

    // The consent was for that job: the same kind of file asks again.
    const third = await call<MeetingSummary>('meetings.transcribe', { uploadId: await upload(broken, 'call3.wav') });
    expect((await settled(third.id)).consentProviderId).toBe(CLOUD_PROVIDER.id);
    expect(audioRequests().length).toBe(before + 1);
  });
});
