// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { CLOUD_PROVIDER, goToPane, pageProblems, saveScreenshot, stageSuite } from './harness.ts';

const stage = stageSuite({ fake: { text: 'The cloud answered this one.' } });
let fake: FakeServer;
let page: Page;
beforeAll(() => {
  ({ fake, page } = stage as Required<typeof stage>);
});

describe('chat in browser mode', () => {
  it('signs in with the one-time code and removes it from the address bar', async () => {
    expect(new URL(page.url()).searchParams.has('code')).toBe(false);
    await expect(page.getByRole('main', { name: 'Chat' }).isVisible()).resolves.toBe(true);
  }, 300_000);

  it('streams an answer from stories260K on this machine, says who answered, and stops on request', async () => {
    await goToPane(page, 'Chat');
    await page.getByRole('textbox', { name: 'Message' }).fill('Once upon a time');
    await page.getByRole('button', { name: 'Send message' }).click();

    // The answer grows while it streams; who is answering shows from the first token.
    const answer = page.getByRole('article', { name: 'Answer' }).last();
    const body = answer.locator('.message-body');
    await expect.poll(async () => (await body.innerText()).trim().length, { timeout: 120_000 }).toBeGreaterThan(20);
    const early = (await body.innerText()).trim().length;
    await expect.poll(async () => (await body.innerText()).trim().length, { timeout: 60_000 }).toBeGreaterThan(early);
    const facts = await answer.locator('.answer-facts').innerText();
    expect(facts).toMatch(/stories260K/);
    expect(facts).not.toContain(CLOUD_PROVIDER.label);
    expect(await answer.locator('.provider-badge').innerText()).toMatch(/local/i);
    expect(await answer.locator('.fallback-note').count()).toBe(0);

    // Stop ends it: Send comes back, and what was written stays, marked as stopped.
    await page.getByRole('button', { name: 'Stop the answer' }).click();
    await page.getByRole('button', { name: 'Send message' }).waitFor({ timeout: 15_000 });
    const stopped = page.getByRole('article', { name: 'Answer' }).last();
    expect((await stopped.locator('.message-body').innerText()).trim().length).toBeGreaterThanOrEqual(early);
    await expect(stopped.getByText('Stopped.').isVisible()).resolves.toBe(true);
    // Regenerate writes a new answer in place of the stopped one.
    await stopped.getByRole('button', { name: 'Regenerate' }).click();
    await page.getByRole('button', { name: 'Stop the answer' }).waitFor({ timeout: 15_000 });
    await expect
      .poll(
        async () =>
          (await page.getByRole('article', { name: 'Answer' }).last().locator('.message-body').innerText()).trim()
            .length,
        {
          timeout: 120_000,
        },
      )
      .toBeGreaterThan(20);
    await page.getByRole('button', { name: 'Stop the answer' }).click();
    await page.getByRole('button', { name: 'Send message' }).waitFor({ timeout: 15_000 });
    expect(await page.getByRole('article', { name: 'Answer' }).count()).toBe(1);

    // Nothing went to the cloud for a question the local model answered.
    expect(fake.requests).toHaveLength(0);

    // The conversation is stored: it is listed, titled after the question.
    await expect(
      page.getByRole('complementary', { name: 'Conversations' }).getByText('Once upon a time').first().isVisible(),
    ).resolves.toBe(true);
    await saveScreenshot(page, 'chat');
    expect(pageProblems(page)).toEqual([]);
  }, 300_000);

  it('shows the request in Usage', async () => {
    await goToPane(page, 'Usage');
    const requests = page.locator('.stat').filter({ hasText: 'requests' }).locator('.stat-value');
    await expect.poll(async () => Number(await requests.innerText()), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    await saveScreenshot(page, 'usage');
  }, 300_000);

  it('holds its layout at 800×600 in the dark theme', async () => {
    await page.setViewportSize({ width: 800, height: 600 });
    await goToPane(page, 'Chat');
    await page.getByRole('button', { name: /^Theme: system/ }).click(); // system → light
    await page.getByRole('button', { name: /^Theme: light/ }).click(); // light → dark
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    // Nothing spills sideways: the page is exactly as wide as the window.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800);
    await expect(page.getByRole('textbox', { name: 'Message' }).isVisible()).resolves.toBe(true);
    await saveScreenshot(page, 'chat-800x600-dark');
    // Keyboard: Ctrl+1…4 switch panes.
    await page.keyboard.press('Control+2');
    await page.getByRole('main', { name: 'Meetings' }).waitFor();
    await page.keyboard.press('Control+1');
    await page.getByRole('main', { name: 'Chat' }).waitFor();
  }, 300_000);
});
