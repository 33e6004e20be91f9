// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { CLOUD_PROVIDER, goToPane, type RunningApp, stageSuite, type Workspace } from './harness.ts';

/**
 * Privacy in the app, as a person meets it: the indicator of what can leave the machine, the consent
 * question when local Whisper cannot read a file, and a key added in Settings kept encrypted.
 * Cloud fallback is on and a cloud provider that can transcribe is configured with a key.
 */

const stage = stageSuite({
  workspace: { cloudFallback: true },
  fake: { text: 'Transcribed in the cloud.', models: [CLOUD_PROVIDER.model, 'whisper-1'] },
});
let fake: FakeServer;
let app: RunningApp;
let page: Page;
let workspace: Workspace;
let unreadable: string;
beforeAll(() => {
  ({ fake, app, page, workspace } = stage as Required<typeof stage>);
  // Bytes no decoder reads: local Whisper cannot transcribe this, a cloud provider would take it.
  unreadable = join(workspace.dir, 'call-recording.wav');
  writeFileSync(unreadable, Buffer.alloc(48_000, 0x5a));
});

const audioRequests = () => fake.requests.filter((request) => request.path.includes('/audio/'));
const indicator = () => page.getByRole('button', { name: 'What can leave this machine' });

async function dropUnreadable(): Promise<void> {
  await goToPane(page, 'Meetings');
  await page.getByRole('button', { name: 'New meeting' }).click();
  await page.getByTestId('audio-file-input').setInputFiles(unreadable);
  await page.getByRole('textbox', { name: 'Meeting title' }).waitFor({ timeout: 60_000 });
}

describe('privacy in the app', () => {
  it('shows what can leave the machine at all times, and opens the switches', async () => {
    await expect.poll(() => indicator().innerText(), { timeout: 30_000 }).toMatch(/Chat only/);
    await goToPane(page, 'Meetings');
    expect(await indicator().isVisible()).toBe(true);
    await indicator().click();
    await page.getByRole('main', { name: 'Providers & settings' }).waitFor();
    const meetings = page.getByRole('switch', { name: 'Cloud processing for meetings' });
    expect(await meetings.getAttribute('aria-checked')).toBe('false');
    await meetings.click();
    await expect.poll(() => indicator().innerText()).toMatch(/Chat and meetings/);
    await meetings.click();
    await expect.poll(() => indicator().innerText()).toMatch(/Chat only/);
    // How keys are kept, said plainly.
    await expect(page.getByText(/the OS keyring is not used/).isVisible()).resolves.toBe(true);
  });

  it('asks before sending a file local Whisper cannot read; No keeps it here and says so', async () => {
    await dropUnreadable();
    const question = page.getByRole('alertdialog', { name: 'Send to the cloud?' });
    await question.waitFor({ timeout: 120_000 });
    expect(await question.innerText()).toContain(
      `Local Whisper cannot read this file. Send it to ${CLOUD_PROVIDER.label} for transcription?`,
    );
    expect(audioRequests()).toEqual([]);
    await question.getByRole('button', { name: 'No, keep it on this machine' }).click();
    const failure = page.getByRole('alert').filter({ hasText: 'Transcription failed' });
    await failure.waitFor({ timeout: 30_000 });
    expect(await failure.innerText()).toMatch(/you chose to keep this recording on this machine/);
    expect(await question.count()).toBe(0);
    expect(audioRequests()).toEqual([]);
  }, 240_000);

  it('Yes sends that one recording, and the meeting says who transcribed it', async () => {
    await dropUnreadable();
    const question = page.getByRole('alertdialog', { name: 'Send to the cloud?' });
    await question.waitFor({ timeout: 120_000 });
    await question.getByRole('button', { name: 'Yes, send it this once' }).click();
    await page.locator('.meeting-header .status').getByText('done', { exact: true }).waitFor({ timeout: 120_000 });
    expect(await page.locator('.meeting-header .provenance').innerText()).toBe(
      `Transcribed by ${CLOUD_PROVIDER.label} whisper-1 (cloud)`,
    );
    expect(audioRequests()).toHaveLength(1);
  }, 240_000);

  it('keeps a key added in Settings encrypted: no file in the data dir holds it', async () => {
    const key = 'sk-settings-ui-key-4242-zzzz';
    await goToPane(page, 'Providers & settings');
    const card = page.getByRole('article', { name: CLOUD_PROVIDER.label });
    await card.getByLabel(`New API key for ${CLOUD_PROVIDER.label}`).fill(key);
    await card.getByRole('button', { name: 'Add' }).click();
    await card.locator('.key-list code').getByText('…zzzz').waitFor({ timeout: 30_000 });
    const holders = readdirSync(workspace.dataDir, { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name))
      .filter((file) => readFileSync(file).includes(key));
    expect(holders.map((file) => relative(workspace.dataDir, file))).toEqual([]);
  });

  it('never prints the key in the server output', () => {
    expect(app.output()).not.toContain('sk-settings-ui-key-4242-zzzz');
  });
});
