// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { goToPane, STORIES_GGUF, saveScreenshot, stageSuite } from './harness.ts';

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
    await card.waitFor({ timeout: 90_000 });
    expect(await card.getByRole('heading').innerText()).toBe('No local model installed yet');
    const recommended = (await card.locator('strong').first().innerText()).trim();
    expect(recommended.length).toBeGreaterThan(0);
    // This machine has two cores and no GPU: a 1–3B model, not a 7B one that would crawl.
    const size = Number(/, (\d+(?:\.\d+)?)B,/.exec(await card.innerText())?.[1]);
    expect(size).toBeGreaterThanOrEqual(1);
    expect(size).toBeLessThanOrEqual(3.3);
    await expect(card.getByRole('button', { name: `Download ${recommended}` }).isEnabled()).resolves.toBe(true);
    expect(await page.getByText('No provider can answer chat right now.').isVisible()).toBe(true);
    await saveScreenshot(page, 'chat-first-run');

    // The meetings pane says how to start too.
    await goToPane(page, 'Meetings');
    await expect(page.getByRole('button', { name: 'Choose an audio file…' }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: 'Record from the microphone' }).isVisible()).resolves.toBe(true);
    expect(fake.requests).toHaveLength(0);
  }, 300_000);

  it('a download that cannot reach the internet fails in words with Retry, and nothing is listed as installed', async () => {
    await goToPane(page, 'Chat');
    const card = page.locator('.card.recommend');
    await card.getByRole('button', { name: /^Download / }).click();
    const failure = card.getByRole('alert');
    await failure.waitFor({ timeout: 60_000 });
    expect(await failure.innerText()).not.toMatch(/CONNECTION_FAILED|https?:\/\/|switchboard /);
    await expect(card.getByRole('button', { name: /^Retry downloading / }).isVisible()).resolves.toBe(true);

    await goToPane(page, 'Providers & settings');
    await expect.poll(() => page.getByRole('region', { name: 'Hardware' }).innerText()).toMatch(/No GPU found/);
    const models = page.getByRole('region', { name: 'Models', exact: true });
    await expect(models.getByRole('button', { name: /^Delete / }).count()).resolves.toBe(0);
  }, 300_000);

  it('a health check that finds no model says so in words; the command to fix it only behind Details', async () => {
    await goToPane(page, 'Usage');
    const health = page.getByRole('region', { name: 'Provider health' });
    await health.getByRole('button', { name: 'Check now' }).click();
    const problem = health.getByText('It answered, with a problem.');
    await problem.waitFor({ timeout: 60_000 });
    expect(await health.innerText()).not.toMatch(/switchboard |`/);
    await health.getByRole('button', { name: 'Details' }).first().click();
    expect(await health.innerText()).toMatch(/no model is installed/);
  }, 120_000);

  it('a model file on this computer is added from Settings and answers in the chat', async () => {
    await goToPane(page, 'Providers & settings');
    const models = page.getByRole('region', { name: 'Models', exact: true });
    await models.getByLabel('File or folder').fill(STORIES_GGUF);
    await models.getByRole('button', { name: 'Add model' }).click();
    await models.getByRole('row', { name: 'stories260K' }).waitFor({ timeout: 30_000 });
    await expect(models.getByRole('row', { name: 'stories260K' }).innerText()).resolves.toMatch(
      /added from this computer/,
    );

    // The Local card and "Answer with" list it.
    await expect
      .poll(() => page.getByRole('article', { name: /^Local/ }).innerText(), { timeout: 30_000 })
      .toMatch(/stories260K/);
    await goToPane(page, 'Chat');
    await page.getByRole('combobox', { name: 'Answer with' }).selectOption({ label: 'stories260K' });
    await page.getByRole('textbox', { name: 'Message' }).fill('Once upon a time');
    await page.getByRole('button', { name: 'Send message' }).click();
    const answer = page.getByRole('article', { name: 'Answer' }).last();
    await expect.poll(() => answer.locator('.answer-facts').innerText(), { timeout: 120_000 }).toMatch(/stories260K/);
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Send message' }).waitFor({ timeout: 60_000 });
    expect(fake.requests).toHaveLength(0);
  }, 300_000);
});
