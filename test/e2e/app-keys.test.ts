// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { CLOUD_PROVIDER, goToPane, type RunningApp, saveScreenshot, stageSuite } from './harness.ts';

/** Keys for programs, as a person manages them in Settings and a script uses them against the local API. */

const stage = stageSuite({ fake: { text: 'Answered for the script.' }, workspace: { cloudFallback: true } });
let page: Page;
let app: RunningApp;
let fake: FakeServer;
beforeAll(() => {
  ({ page, app, fake } = stage as Required<typeof stage>);
});

/** What a program does with its key: one chat request to the OpenAI-compatible API. */
async function chatWith(key: string): Promise<number> {
  const response = await fetch(`${app.origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: `${CLOUD_PROVIDER.id}/${CLOUD_PROVIDER.model}`,
      messages: [{ role: 'user', content: 'Say hello to the script' }],
    }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** The keys table, read afresh: leaving the pane and coming back loads the list again. */
async function keyRow(name: string) {
  await goToPane(page, 'Chat');
  await goToPane(page, 'Providers & settings');
  const row = page.getByRole('region', { name: 'Keys for programs' }).getByRole('row', { name });
  await row.waitFor();
  return row;
}

describe('keys for programs', () => {
  let key = '';

  it('a key made in Settings is shown once, with a copy button and a warning', async () => {
    await goToPane(page, 'Providers & settings');
    const section = page.getByRole('region', { name: 'Keys for programs' });
    const form = section.getByRole('form', { name: 'Create a key' });
    await form.getByLabel('Program name').fill('notes-script');
    await form.getByLabel('Requests per minute').fill('30');
    await form.getByLabel('Daily budget (USD)').fill('2');
    await form.getByRole('button', { name: 'Create key' }).click();

    const shown = section.getByRole('region', { name: 'The new key, shown once' });
    await shown.waitFor();
    key = await shown.getByLabel('The new key').inputValue();
    expect(key).toMatch(/^sbk-/);
    expect(await shown.innerText()).toMatch(/will not be shown again/);
    await shown.scrollIntoViewIfNeeded();
    await saveScreenshot(page, 'settings-keys');
    await expect(shown.getByRole('button', { name: 'Copy the key for notes-script' }).isVisible()).resolves.toBe(true);

    expect(await section.getByRole('columnheader').allTextContents()).toEqual([
      'Name',
      'Limits',
      'Budgets',
      'Models',
      'Created',
      'Last used',
      'State',
      'Actions',
    ]);
    const row = section.getByRole('row', { name: 'notes-script' });
    expect(await row.innerText()).toMatch(/30 requests\/min[\s\S]*\$2\.00 a day[\s\S]*Never[\s\S]*Active/);
    await shown.getByRole('button', { name: 'I have copied it' }).click();
    await shown.waitFor({ state: 'detached' });
    expect(await page.locator('body').innerText()).not.toContain(key);
    // Nor does it come back when the list is loaded again: only its last characters.
    expect(await (await keyRow('notes-script')).innerText()).toContain(`…${key.slice(-4)}`);
    expect(await page.content()).not.toContain(key);
  }, 180_000);

  it('a request with the key is answered, and shows as last used and in Usage by key', async () => {
    const before = fake.requests.length;
    expect(await chatWith(key)).toBe(200);
    expect(fake.requests.length).toBeGreaterThan(before);

    const row = await keyRow('notes-script');
    expect(await row.innerText()).not.toMatch(/Never/);

    await goToPane(page, 'Usage');
    const byKey = page.getByRole('region', { name: 'Requests by key' });
    const usageRow = byKey.getByRole('row', { name: 'notes-script' });
    await usageRow.waitFor();
    expect(await byKey.getByRole('columnheader').allTextContents()).toEqual(['Key', 'Requests', 'Errors', 'Cost']);
    const cells = await usageRow.getByRole('cell').allInnerTexts();
    // Requests, errors, cost: one request, no error, and what it cost.
    expect(cells[0]).toBe('1');
    expect(cells[1]).toBe('0');
    expect(cells[2]).toMatch(/^\$\d/);
    expect(cells[2]).not.toBe('$0');
    await byKey.scrollIntoViewIfNeeded();
    await saveScreenshot(page, 'usage-by-key');
  }, 180_000);

  it('rotating shows a new key once; the old one stops working', async () => {
    page.once('dialog', (dialog) => void dialog.accept());
    const row = await keyRow('notes-script');
    await row.getByRole('button', { name: 'Rotate' }).click();
    const shown = page.getByRole('region', { name: 'The new key, shown once' });
    await shown.waitFor();
    const rotated = await shown.getByLabel('The new key').inputValue();
    expect(rotated).toMatch(/^sbk-/);
    expect(rotated).not.toBe(key);
    expect(await chatWith(key)).toBe(401);
    expect(await chatWith(rotated)).toBe(200);
    key = rotated;
    await shown.getByRole('button', { name: 'I have copied it' }).click();
  }, 180_000);

  it('revoking asks first; then the list says revoked and a request with the key gets 401', async () => {
    const row = await keyRow('notes-script');
    // Saying no leaves the key working.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await row.getByRole('button', { name: 'Revoke' }).click();
    expect(await row.innerText()).toMatch(/Active/);

    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => row.innerText()).toMatch(/Revoked/);
    await expect(row.getByRole('button', { name: 'Rotate' }).count()).resolves.toBe(0);
    expect(await chatWith(key)).toBe(401);
  }, 180_000);
});
