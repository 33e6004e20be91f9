// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { CLOUD_PROVIDER, pageProblems, stageSuite } from './harness.ts';

/** An answer long enough (about 4 s at the fake's pace) to look elsewhere while it is written. */
const LONG = Array.from({ length: 60 }, (_, i) => `word${i + 1}`).join(' ');
const MARKDOWN = [
  'The harbour crane plan:',
  '',
  '| crane | state |',
  '| --- | --- |',
  '| north | broken |',
  '',
  '```sh',
  'echo repair-north-crane',
  '```',
].join('\n');

const stage = stageSuite({ fake: { text: LONG, tokenDelayMs: 60 } });
let fake: FakeServer;
let page: Page;
beforeAll(async () => {
  ({ fake, page } = stage as Required<typeof stage>);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stage.app!.origin });
});

const list = () => page.getByRole('complementary', { name: 'Conversations' });
const lastAnswer = () => page.getByRole('article', { name: 'Answer' }).last();
const answerText = async () => (await lastAnswer().locator('.message-body').innerText()).trim();

async function ask(text: string, model: string = CLOUD_PROVIDER.model) {
  await page.getByRole('combobox', { name: 'Answer with' }).selectOption({ label: model });
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send message' }).click();
}

async function waitUntilAnswered() {
  await page.getByRole('button', { name: 'Send message' }).waitFor({ timeout: 60_000 });
}

describe('chat: answers that outlive the view, and the list', () => {
  it('a new conversation is in the list while its first answer streams; switching away and back shows the whole answer', async () => {
    fake.setText(LONG);
    await page.getByRole('button', { name: 'New chat' }).click();
    await ask('Count to sixty slowly');
    // Listed at once, marked as being answered, while the first words arrive.
    await list().getByText('Count to sixty slowly').waitFor({ timeout: 5_000 });
    await expect.poll(answerText, { timeout: 30_000 }).toMatch(/word3/);
    expect(await answerText()).not.toMatch(/word60/);
    await expect(list().getByText('writing an answer…').isVisible()).resolves.toBe(true);

    // Look elsewhere mid-answer: a new chat…
    await page.getByRole('button', { name: 'New chat' }).click();
    await page.getByRole('heading', { name: 'Start a conversation' }).waitFor();
    // …then come back while it is still written: the text so far, then the rest.
    await list().getByText('Count to sixty slowly').click();
    await expect.poll(answerText, { timeout: 30_000 }).toMatch(/word2/);
    await expect.poll(answerText, { timeout: 30_000 }).toBe(LONG);
    await waitUntilAnswered();

    // Look away again until it has long been saved: it is complete, not cut where the view left.
    await page.getByRole('button', { name: 'New chat' }).click();
    await expect.poll(() => list().getByText('writing an answer…').count(), { timeout: 60_000 }).toBe(0);
    await list()
      .getByText(/Count to sixty slowly|word1/)
      .first()
      .click();
    await expect.poll(answerText).toBe(LONG);
    expect(await lastAnswer().locator('.provider-badge').innerText()).toBe(CLOUD_PROVIDER.label);
  }, 300_000);

  it('Regenerate with the model chosen in "Answer with" is answered by that model', async () => {
    fake.setText('The cloud answered.');
    await page.getByRole('button', { name: 'New chat' }).click();
    await ask('Who answers this?');
    await waitUntilAnswered();
    expect(await lastAnswer().locator('.provider-badge').innerText()).toBe(CLOUD_PROVIDER.label);

    const cloudRequests = fake.requests.length;
    await page.getByRole('combobox', { name: 'Answer with' }).selectOption({ label: 'stories260K' });
    await lastAnswer().getByRole('button', { name: 'Regenerate' }).click();
    await expect.poll(answerText, { timeout: 120_000 }).not.toBe('The cloud answered.');
    await expect
      .poll(() => lastAnswer().locator('.answer-facts').innerText(), { timeout: 120_000 })
      .toMatch(/stories260K/);
    expect(await lastAnswer().locator('.provider-badge').innerText()).toMatch(/local/i);
    // stories260K tells long stories: Esc stops it, and the view stays on it with Regenerate.
    await expect.poll(async () => (await answerText()).length, { timeout: 60_000 }).toBeGreaterThan(20);
    await page.keyboard.press('Escape');
    await waitUntilAnswered();
    await expect(lastAnswer().getByText('Stopped.').isVisible()).resolves.toBe(true);
    await page.waitForTimeout(1_500);
    await expect(lastAnswer().getByText('Stopped.').isVisible()).resolves.toBe(true);
    await expect(lastAnswer().getByRole('button', { name: 'Regenerate' }).isVisible()).resolves.toBe(true);
    expect(await page.getByRole('article', { name: 'Answer' }).count()).toBe(1);
    // The regenerated answer went nowhere near the cloud (titles are asked of the model that answered).
    expect(fake.requests.slice(cloudRequests).filter((r) => r.path.endsWith('/chat/completions'))).toHaveLength(0);
  }, 300_000);

  it('renders a GFM table and code with a Copy button; copy and edit a message', async () => {
    fake.setText(MARKDOWN);
    await page.getByRole('button', { name: 'New chat' }).click();
    await ask('Plan the harbour crane repair');
    await waitUntilAnswered();
    const answer = lastAnswer();
    await expect(answer.locator('table th').allInnerTexts()).resolves.toEqual(['crane', 'state']);
    expect(await answer.locator('.message-body').innerText()).not.toContain('| --- |');
    await answer.getByRole('button', { name: 'Copy code' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe('echo repair-north-crane\n');

    const mine = page.getByRole('article', { name: 'You' }).last();
    await mine.getByRole('button', { name: 'Copy message' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe('Plan the harbour crane repair');

    fake.setText('Edited answer.');
    const before = fake.requests.length;
    await mine.getByRole('button', { name: 'Edit message' }).click();
    await page.getByRole('textbox', { name: 'Edit your message' }).fill('Plan the south crane repair');
    await page.getByRole('button', { name: 'Save and send' }).click();
    await waitUntilAnswered();
    await expect.poll(answerText).toBe('Edited answer.');
    expect(await page.getByRole('article', { name: 'You' }).allInnerTexts()).toEqual([
      expect.stringContaining('Plan the south crane repair'),
    ]);
    const asked = fake.requests.slice(before)[0]?.body as { messages: { content: string }[] };
    expect(asked.messages.map((m) => m.content)).toEqual(['Plan the south crane repair']);
  }, 300_000);

  it('search in the list shows each conversation once, and a new query replaces the old results', async () => {
    fake.setText('Cranes lift containers; the north crane needs oil.');
    await page.getByRole('button', { name: 'New chat' }).click();
    await ask('Which crane needs oil?');
    await waitUntilAnswered();

    const search = page.getByRole('searchbox', { name: 'Search conversations' });
    await search.fill('crane');
    const results = page.getByRole('list', { name: 'Matching conversations' });
    await results.waitFor();
    const titles = await results.locator('.item-title').allInnerTexts();
    expect(new Set(titles).size).toBe(titles.length);
    expect(titles.length).toBeGreaterThanOrEqual(2);

    await search.fill('oil');
    await expect.poll(() => results.locator('li').count()).toBe(1);
    await search.fill('');
    await expect(results.count()).resolves.toBe(0);
    expect(pageProblems(page)).toEqual([]);
  }, 120_000);
});
