// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';
import { CLOUD_PROVIDER, goToPane, saveScreenshot, stageSuite } from './harness.ts';

const CLOUD_TEXT = 'The cloud answered this one.';

const stage = stageSuite({ fake: { text: CLOUD_TEXT }, workspace: { cloudFallback: true } });
let fake: FakeServer;
let page: Page;
beforeAll(() => {
  ({ fake, page } = stage as Required<typeof stage>);
});

/**
 * Asks with the cloud provider's model picked explicitly, and waits until the answer settles: saved,
 * refused, or (when the local model stepped in and tells a long story) stopped once it has started.
 */
async function askTheCloudModel(page: Page, text: string) {
  await goToPane(page, 'Chat');
  await page.getByRole('button', { name: 'New chat' }).click();
  await page.getByRole('combobox', { name: 'Answer with' }).selectOption({ label: CLOUD_PROVIDER.model });
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send message' }).click();
  const answer = page.getByRole('article', { name: 'Answer' }).last();
  await answer.locator('.provider-badge, [role="alert"]').first().waitFor({ timeout: 120_000 });
  const stop = page.getByRole('button', { name: 'Stop the answer' });
  if (await stop.isVisible()) {
    await expect.poll(async () => (await answer.locator('.message-body').innerText()).trim().length).toBeGreaterThan(0);
    // The answer may end on its own between the check and the click: then there is nothing to stop.
    if (await stop.isVisible()) await stop.click({ timeout: 5_000 }).catch(() => undefined);
  }
  await page.getByRole('button', { name: 'Send message' }).waitFor({ timeout: 60_000 });
  return page.getByRole('article', { name: 'Answer' }).last();
}

describe('providers and the cloud-fallback switch', () => {
  it('with cloud fallback on, the cloud model is answered by the (fake) cloud provider', async () => {
    const answer = await askTheCloudModel(page, 'Say hello from the cloud');
    expect(await answer.locator('.provider-badge').innerText()).toBe(CLOUD_PROVIDER.label);
    expect(await answer.locator('.message-body').innerText()).toContain(CLOUD_TEXT);
    // One request for the question (the model that answered is also asked for the conversation's title).
    const questions = fake.requests.filter(
      (r) => r.path.endsWith('/chat/completions') && JSON.stringify(r.body).includes('Say hello from the cloud'),
    );
    expect(questions.filter((r) => !JSON.stringify(r.body).includes('Write a title'))).toHaveLength(1);
  }, 300_000);

  it('with cloud fallback off, the same request is answered locally or refused clearly, and nothing reaches the cloud', async () => {
    await goToPane(page, 'Providers & settings');
    const cloudSwitch = page.getByRole('switch', { name: 'Cloud fallback' });
    await cloudSwitch.click();
    await expect.poll(() => cloudSwitch.getAttribute('aria-checked')).toBe('false');
    await expect(page.getByText('Off: nothing leaves this machine.').isVisible()).resolves.toBe(true);
    await saveScreenshot(page, 'settings');

    const before = fake.requests.length;
    const answer = await askTheCloudModel(page, 'Say hello from the cloud again');
    const alert = answer.getByRole('alert');
    if ((await alert.count()) > 0) {
      // Refused: the message says why, in words.
      expect(await alert.innerText()).toMatch(/cloud/i);
    } else {
      // Answered: by the model on this machine, not the cloud provider.
      expect(await answer.locator('.provider-badge').innerText()).not.toBe(CLOUD_PROVIDER.label);
      expect(await answer.locator('.answer-facts').innerText()).toMatch(/stories260K/i);
    }
    expect(fake.requests.length - before).toBe(0);
  }, 300_000);

  it('a wrong API key gets a clear error that names the provider and never shows the key', async () => {
    await goToPane(page, 'Providers & settings');
    const card = page.getByRole('article', { name: CLOUD_PROVIDER.label });
    const wrongKey = 'sk-wrong-key-9999999999999999';
    await card.getByLabel(`New API key for ${CLOUD_PROVIDER.label}`).fill(wrongKey);
    await card.getByRole('button', { name: 'Test' }).click();
    const result = card.getByRole('alert');
    await result.waitFor({ timeout: 30_000 });
    // In words, with the provider's name; the engine's code only behind Details.
    expect(await result.innerText()).toMatch(new RegExp(`^${CLOUD_PROVIDER.label} did not accept its API key\\.`));
    expect(await result.innerText()).not.toMatch(/PROVIDER_UNAUTHORIZED/);
    await result.getByRole('button', { name: 'Details' }).click();
    const message = await result.innerText();
    expect(message).toMatch(/PROVIDER_UNAUTHORIZED/);
    expect(message).not.toContain(wrongKey);
    // Only the password field holds it: no text on the page shows it.
    expect(await page.locator('body').innerText()).not.toContain(wrongKey.slice(0, 16));

    // The stored key is the right one: testing it says so (the check can pass, so the failure above means something).
    await card.getByLabel(`New API key for ${CLOUD_PROVIDER.label}`).fill('');
    await card.getByRole('button', { name: 'Test' }).click();
    await card.getByRole('status').waitFor({ timeout: 30_000 });
    expect(await card.getByRole('status').innerText()).toMatch(/✓/);
    // Keys are only ever shown masked.
    expect(await card.locator('.key-list code').allInnerTexts()).toEqual([`…${FAKE_OPENAI_KEY.slice(-4)}`]);
  }, 300_000);

  it('adds an OpenAI-compatible provider in Settings and chats through it; edits it and removes it', async () => {
    const houseText = 'The house model answered.';
    const house = await startFakeOpenAI({ text: houseText, models: ['house-model'] });
    try {
      await goToPane(page, 'Providers & settings');
      // The test before turned cloud fallback off; a provider on the network answers only with it on.
      const cloudSwitch = page.getByRole('switch', { name: 'Cloud fallback' });
      if ((await cloudSwitch.getAttribute('aria-checked')) === 'false') await cloudSwitch.click();
      await expect.poll(() => cloudSwitch.getAttribute('aria-checked')).toBe('true');
      await page.getByRole('button', { name: 'Add provider' }).click();
      const form = page.getByRole('form', { name: 'New provider' });
      await form.getByRole('combobox', { name: 'Type' }).selectOption('custom');
      await form.getByLabel('Name').fill('House');
      await form.getByLabel(/^Address/).fill(`${house.url}/v1`);
      await form.getByLabel(/^API key/).fill(FAKE_OPENAI_KEY);
      await form.getByLabel(/^Models/).fill('house-model');
      await form.getByRole('button', { name: 'Add provider' }).click();
      const card = page.getByRole('article', { name: 'House' });
      await card.waitFor({ timeout: 30_000 });
      // Checked at once with its key: the badge says it works, and the key shows only masked.
      await expect.poll(() => card.locator('.health').innerText(), { timeout: 30_000 }).toBe('healthy');
      expect(await card.locator('.key-list code').allInnerTexts()).toEqual([`…${FAKE_OPENAI_KEY.slice(-4)}`]);

      await goToPane(page, 'Chat');
      await page.getByRole('button', { name: 'New chat' }).click();
      await page.getByRole('combobox', { name: 'Answer with' }).selectOption({ label: 'house-model' });
      await page.getByRole('textbox', { name: 'Message' }).fill('Who answers this?');
      await page.getByRole('button', { name: 'Send message' }).click();
      const answer = page.getByRole('article', { name: 'Answer' }).last();
      await answer.locator('.provider-badge').waitFor({ timeout: 120_000 });
      await page.getByRole('button', { name: 'Send message' }).waitFor({ timeout: 60_000 });
      expect(await answer.locator('.provider-badge').innerText()).toBe('House');
      expect(await answer.locator('.message-body').innerText()).toContain(houseText);
      expect(
        house.requests.some(
          (r) => r.path.endsWith('/chat/completions') && JSON.stringify(r.body).includes('Who answers this?'),
        ),
      ).toBe(true);

      // Kept: after a reload it is still there; an edit renames it.
      await page.reload();
      await goToPane(page, 'Providers & settings');
      await card.getByRole('button', { name: 'Edit' }).click();
      const edit = page.getByRole('form', { name: 'Edit House' });
      await edit.getByLabel('Name').fill('House kitchen');
      await edit.getByRole('button', { name: 'Save' }).click();
      const renamed = page.getByRole('article', { name: 'House kitchen' });
      await renamed.waitFor({ timeout: 30_000 });
      // The address did not change, so its key stayed.
      expect(await renamed.locator('.key-list code').allInnerTexts()).toEqual([`…${FAKE_OPENAI_KEY.slice(-4)}`]);

      page.once('dialog', (dialog) => void dialog.accept());
      await renamed.getByRole('button', { name: 'Remove', exact: true }).click();
      await expect.poll(() => renamed.count()).toBe(0);
      await page.reload();
      await goToPane(page, 'Providers & settings');
      await page.getByRole('article', { name: CLOUD_PROVIDER.label }).waitFor();
      expect(await page.getByRole('article', { name: /^House/ }).count()).toBe(0);
      await goToPane(page, 'Chat');
      expect(
        await page.getByRole('combobox', { name: 'Answer with' }).locator('option', { hasText: 'house-model' }).count(),
      ).toBe(0);
      // A provider of the providers file cannot be removed here (it would come back): it says so in words.
      await goToPane(page, 'Providers & settings');
      page.once('dialog', (dialog) => void dialog.accept());
      await page
        .getByRole('article', { name: CLOUD_PROVIDER.label })
        .getByRole('button', { name: 'Remove', exact: true })
        .click();
      const refusal = page.getByRole('alert').filter({ hasText: 'turn it off here instead' });
      await refusal.waitFor({ timeout: 30_000 });
      expect(await refusal.innerText()).not.toMatch(/providers\.yaml|\/tmp\//);
    } finally {
      await house.close();
    }
  }, 300_000);

  it('the default chat model chosen in Settings answers a chat left on Automatic, and stays chosen', async () => {
    await goToPane(page, 'Providers & settings');
    const defaults = page.getByRole('region', { name: 'Default models' });
    const chatDefault = defaults.getByRole('combobox', { name: 'Chat' });
    await chatDefault.selectOption({ label: `${CLOUD_PROVIDER.model} (${CLOUD_PROVIDER.label})` });
    await expect.poll(() => chatDefault.inputValue()).toBe(`${CLOUD_PROVIDER.id}/${CLOUD_PROVIDER.model}`);
    // The providers file's Whisper model shows as the transcription default.
    expect(await defaults.getByRole('combobox', { name: 'Transcription' }).inputValue()).toBe('whisper-tiny-random');

    await page.reload();
    await goToPane(page, 'Chat');
    await page.getByRole('button', { name: 'New chat' }).click();
    const picker = page.getByRole('combobox', { name: 'Answer with' });
    expect(await picker.inputValue()).toBe('auto');
    expect(await picker.locator('option:checked').innerText()).toContain(CLOUD_PROVIDER.model);
    const before = fake.requests.length;
    await page.getByRole('textbox', { name: 'Message' }).fill('Who is the default?');
    await page.getByRole('button', { name: 'Send message' }).click();
    const answer = page.getByRole('article', { name: 'Answer' }).last();
    await answer.locator('.provider-badge').waitFor({ timeout: 120_000 });
    await page.getByRole('button', { name: 'Send message' }).waitFor({ timeout: 60_000 });
    // The local model comes first in the providers file: only the default made the cloud answer.
    expect(await answer.locator('.provider-badge').innerText()).toBe(CLOUD_PROVIDER.label);
    expect(await answer.locator('.message-body').innerText()).toContain(CLOUD_TEXT);
    expect(fake.requests.length).toBeGreaterThan(before);

    await goToPane(page, 'Providers & settings');
    await chatDefault.selectOption('');
    await page.reload();
    await goToPane(page, 'Providers & settings');
    await expect.poll(() => chatDefault.inputValue()).toBe('');
  }, 300_000);

  it("a model's own settings go with every chat it answers: system prompt, temperature, max tokens; a local model's context", async () => {
    await goToPane(page, 'Providers & settings');
    const section = page.getByRole('region', { name: 'Model settings' });
    const model = section.getByRole('combobox', { name: 'Model' });
    await model.selectOption(`${CLOUD_PROVIDER.id}/${CLOUD_PROVIDER.model}`);
    await section.getByLabel('Temperature (0–2)').fill('0.3');
    await section.getByLabel('Max tokens per answer').fill('64');
    await section.getByLabel('System prompt').fill('Answer like a pirate.');
    // Context and GPU layers are for models on this machine only.
    expect(await section.getByLabel('GPU layers').count()).toBe(0);
    await section.getByRole('button', { name: 'Save' }).click();
    await section.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();

    await goToPane(page, 'Chat');
    await page.getByRole('button', { name: 'New chat' }).click();
    await page.getByRole('combobox', { name: 'Answer with' }).selectOption({ label: CLOUD_PROVIDER.model });
    await page.getByRole('textbox', { name: 'Message' }).fill('Ahoy there?');
    await page.getByRole('button', { name: 'Send message' }).click();
    await page.getByRole('article', { name: 'Answer' }).last().locator('.provider-badge').waitFor({ timeout: 120_000 });
    await page.getByRole('button', { name: 'Send message' }).waitFor({ timeout: 60_000 });
    const asked = fake.requests.find(
      (r) => r.path.endsWith('/chat/completions') && JSON.stringify(r.body).includes('Ahoy there?'),
    );
    const body = asked?.body as { messages: { role: string; content: unknown }[]; temperature?: number } & Record<
      string,
      unknown
    >;
    expect(body.messages[0]).toMatchObject({ role: 'system', content: 'Answer like a pirate.' });
    expect(body.temperature).toBe(0.3);
    expect(body.max_tokens ?? body.max_completion_tokens).toBe(64);

    // Kept: the form shows them again after a reload.
    await page.reload();
    await goToPane(page, 'Providers & settings');
    await model.selectOption(`${CLOUD_PROVIDER.id}/${CLOUD_PROVIDER.model}`);
    expect(await section.getByLabel('System prompt').inputValue()).toBe('Answer like a pirate.');

    // stories260K holds 2,048 tokens; with its context set to 256 a longer message is refused, and the
    // details say the model held 256 tokens as loaded.
    await model.selectOption('local/stories260K');
    await section.getByLabel('Context (tokens)').fill('256');
    await section.getByRole('button', { name: 'Save' }).click();
    await section.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await goToPane(page, 'Chat');
    await page.getByRole('button', { name: 'New chat' }).click();
    await page.getByRole('combobox', { name: 'Answer with' }).selectOption({ label: 'stories260K' });
    await page.getByRole('textbox', { name: 'Message' }).fill('The cat sat on the mat. '.repeat(60));
    await page.getByRole('button', { name: 'Send message' }).click();
    const refusal = page.getByRole('article', { name: 'Answer' }).last().getByRole('alert');
    await refusal.waitFor({ timeout: 120_000 });
    expect(await refusal.innerText()).toMatch(/too long for the model/);
    await refusal.getByRole('button', { name: 'Details' }).click();
    expect(await refusal.innerText()).toMatch(/stories260K holds 256 tokens/);
  }, 300_000);
});
