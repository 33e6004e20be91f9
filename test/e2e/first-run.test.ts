// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';
import {
  type Browser,
  CLOUD_PROVIDER,
  ensureRendererBuilt,
  goToPane,
  launchBrowser,
  makeWorkspace,
  openApp,
  type RunningApp,
  requirePrerequisites,
  saveScreenshot,
  startApp,
  type Workspace,
} from './harness.ts';

let fake: FakeServer;
let workspace: Workspace;
let app: RunningApp;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  requirePrerequisites();
  await ensureRendererBuilt();
  fake = await startFakeOpenAI({ models: [CLOUD_PROVIDER.model] });
  // A new user: no model on the machine, and cloud fallback off.
  workspace = makeWorkspace({
    cloudUrl: `${fake.url}/v1`,
    cloudKey: FAKE_OPENAI_KEY,
    cloudFallback: false,
    models: false,
  });
  app = await startApp(workspace);
  browser = await launchBrowser();
  page = await openApp(browser, app);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await fake?.close();
  workspace?.cleanup();
});

describe('first run', () => {
  it('tells a new user what to do first: the recommended model, one button away', async () => {
    await goToPane(page, 'Chat');
    const card = page.locator('.card.recommend');
    await card.waitFor({ timeout: 30_000 });
    expect(await card.getByRole('heading').innerText()).toBe('No local model installed yet');
    const recommended = (await card.locator('strong').first().innerText()).trim();
    expect(recommended.length).toBeGreaterThan(0);
    await expect(card.getByRole('button', { name: `Download ${recommended}` }).isEnabled()).resolves.toBe(true);
    expect(await page.getByText('No provider can answer chat right now.').isVisible()).toBe(true);
    await saveScreenshot(page, 'chat-first-run');

    // The meetings pane says how to start too.
    await goToPane(page, 'Meetings');
    await expect(page.getByRole('button', { name: 'Choose an audio file…' }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: 'Record from the microphone' }).isVisible()).resolves.toBe(true);
    expect(fake.requests).toHaveLength(0);
  }, 300_000);
});
