// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { goToPane, saveScreenshot, stageSuite } from './harness.ts';

const stage = stageSuite({ workspace: { cloudFallback: false, models: false } });
let fake: FakeServer;
let page: Page;
beforeAll(() => {
  ({ fake, page } = stage as Required<typeof stage>);
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
