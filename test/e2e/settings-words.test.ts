// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { goToPane, stageSuite } from './harness.ts';

/**
 * Settings speaks to the person who opened it: what runs and why in plain words, and the operator's
 * side (a setting's name, a file) only behind Details. `switchboard serve` runs with LOCAL_DEVICE=metal,
 * which Linux cannot honour, as an operator might have set it.
 */
process.env.LOCAL_DEVICE = 'metal';
const stage = stageSuite({ fake: { text: 'Fine.' } });
let page: Page;
beforeAll(() => {
  page = stage.page!;
});

describe('Settings in words for people', () => {
  it.skipIf(process.platform === 'darwin')(
    'the Hardware section says in words why the CPU runs; the setting that asked is only behind Details',
    async () => {
      await goToPane(page, 'Providers & settings');
      const hardware = page.getByRole('region', { name: 'Hardware' });
      await hardware.waitFor({ timeout: 90_000 });
      expect(await hardware.innerText()).toMatch(
        /This computer is set to use Apple Metal, which exists only on Macs, so models run on the CPU with \d+ threads?\./,
      );
      await page.getByRole('region', { name: 'Models', exact: true }).waitFor({ timeout: 90_000 });
      expect(await page.getByRole('main').innerText()).not.toMatch(/LOCAL_DEVICE|LOCAL_[A-Z]+=/);

      await hardware.getByRole('button', { name: 'Details' }).click();
      expect(await hardware.innerText()).toMatch(/LOCAL_DEVICE=metal asks for Apple Metal/);
    },
    120_000,
  );

  it('no file path of the data folder shows in Settings until Details is asked for', async () => {
    await goToPane(page, 'Providers & settings');
    const privacy = page.getByRole('region', { name: 'Privacy' });
    await privacy.waitFor();
    expect(await privacy.innerText()).toMatch(/stored encrypted on this computer/);
    expect(await page.getByRole('main').innerText()).not.toContain(stage.workspace.dir);
    await privacy.getByRole('button', { name: 'Details' }).click();
    expect(await privacy.innerText()).toContain(stage.workspace.dataDir);
  }, 120_000);
});
