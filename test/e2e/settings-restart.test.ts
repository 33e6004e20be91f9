// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import { describe, expect, it } from 'vitest';
import { CLOUD_PROVIDER, goToPane, openApp, stageSuite, startApp } from './harness.ts';

const stage = stageSuite({ workspace: { cloudFallback: true }, start: false });

describe('settings', () => {
  it('survive a server restart: cloud fallback, strategy, budgets and provider order', async () => {
    stage.app = await startApp(stage.workspace);
    let page = await openApp(stage.browser, stage.app);
    await goToPane(page, 'Providers & settings');

    // The pane shows the stored settings once they have loaded: only then is a click a change to them.
    await expect
      .poll(() => page.getByRole('switch', { name: 'Cloud fallback' }).getAttribute('aria-checked'))
      .toBe('true');
    await page.getByRole('switch', { name: 'Cloud fallback' }).click();
    await expect
      .poll(() => page.getByRole('switch', { name: 'Cloud fallback' }).getAttribute('aria-checked'))
      .toBe('false');
    await page.getByRole('combobox', { name: 'Routing strategy' }).selectOption('round_robin');
    await expect.poll(() => page.getByRole('combobox', { name: 'Routing strategy' }).inputValue()).toBe('round_robin');
    const budgets = page.getByRole('region', { name: 'Budgets' });
    await budgets.getByRole('spinbutton', { name: 'Daily limit (USD)' }).fill('5');
    await budgets.getByRole('button', { name: 'Save budgets' }).click();
    await page.getByRole('button', { name: `Move ${CLOUD_PROVIDER.label} up` }).click();
    await expect.poll(() => page.locator('.provider-card strong').first().innerText()).toBe(CLOUD_PROVIDER.label);
    // Give the last write a moment to reach the disk before the process is stopped.
    await page.waitForTimeout(500);

    await page.close();
    await stage.app.stop();
    stage.app = await startApp(stage.workspace);
    page = await openApp(stage.browser, stage.app);
    await goToPane(page, 'Providers & settings');

    await expect
      .poll(() => page.getByRole('switch', { name: 'Cloud fallback' }).getAttribute('aria-checked'))
      .toBe('false');
    expect(await page.getByRole('combobox', { name: 'Routing strategy' }).inputValue()).toBe('round_robin');
    expect(
      await page
        .getByRole('region', { name: 'Budgets' })
        .getByRole('spinbutton', { name: 'Daily limit (USD)' })
        .inputValue(),
    ).toBe('5');
    expect(await page.locator('.provider-card strong').first().innerText()).toBe(CLOUD_PROVIDER.label);
  }, 300_000);
});
