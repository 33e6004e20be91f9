// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLOUD_PROVIDER, goToPane, stageSuite } from './harness.ts';

const stage = stageSuite({ fake: { text: 'Noted.' }, workspace: { cloudFallback: false } });
let page: Page;
beforeAll(() => {
  page = stage.page!;
});

/** WCAG's contrast ratio of two CSS colours (rgb()/rgba() as getComputedStyle gives them). */
function contrast(a: string, b: string): number {
  const luminance = (color: string) => {
    const [r, g, bl] = (color.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

async function offSwitchContrast(): Promise<number> {
  const cloud = page.getByRole('switch', { name: 'Cloud fallback' });
  await expect.poll(() => cloud.getAttribute('aria-checked')).toBe('false');
  const [track, card] = await cloud.evaluate((element) => [
    getComputedStyle(element).backgroundColor,
    getComputedStyle(element.closest('.card')!).backgroundColor,
  ]);
  return contrast(track!, card!);
}

describe('details a person notices', () => {
  it('an off switch stands out from its background (at least 3:1), in light and dark', async () => {
    await goToPane(page, 'Providers & settings');
    expect(await offSwitchContrast()).toBeGreaterThanOrEqual(3);
    const theme = page.getByRole('button', { name: /^Theme:/ });
    while (!(await theme.getAttribute('aria-label'))?.startsWith('Theme: dark')) await theme.click();
    expect(await offSwitchContrast()).toBeGreaterThanOrEqual(3);
    while (!(await theme.getAttribute('aria-label'))?.startsWith('Theme: system')) await theme.click();
  }, 120_000);

  it('the Settings pane scrolls once, to its end, and the page behind it never scrolls', async () => {
    await goToPane(page, 'Providers & settings');
    await page.getByRole('region', { name: 'Models', exact: true }).waitFor({ timeout: 90_000 });
    await page.mouse.move(700, 400);
    await page.mouse.wheel(0, 50_000);
    const scrolled = await page.evaluate(() => {
      const root = document.scrollingElement!;
      return { pageOverflow: root.scrollHeight - root.clientHeight, pageTop: root.scrollTop };
    });
    expect(scrolled).toEqual({ pageOverflow: 0, pageTop: 0 });
    await expect(page.getByRole('region', { name: 'Models', exact: true }).isVisible()).resolves.toBe(true);
  }, 120_000);

  it('on a wide screen the conversation sits in the middle, not on the left half', async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    try {
      await goToPane(page, 'Chat');
      await page.getByRole('combobox', { name: 'Answer with' }).selectOption({ label: CLOUD_PROVIDER.model });
      await page.getByRole('textbox', { name: 'Message' }).fill('Take a note');
      await page.getByRole('button', { name: 'Send message' }).click();
      await page.getByRole('button', { name: 'Send message' }).waitFor({ timeout: 60_000 });
      const [main, column] = await Promise.all([
        page.locator('.chat-main').boundingBox(),
        page.locator('.message-column').boundingBox(),
      ]);
      const left = column!.x - main!.x;
      const right = main!.x + main!.width - (column!.x + column!.width);
      expect(Math.abs(left - right)).toBeLessThan(40);
      expect(left).toBeGreaterThan(200);
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  }, 120_000);

  it('Escape while renaming a conversation keeps its title', async () => {
    await goToPane(page, 'Chat');
    const list = page.getByRole('complementary', { name: 'Conversations' });
    const item = list.locator('li.item').first();
    const before = await item.locator('.item-title').innerText();
    await item.hover();
    await item.getByRole('button', { name: /^Rename / }).click();
    const field = list.getByRole('textbox', { name: 'Conversation title' });
    await field.fill('Not what I meant');
    await field.press('Escape');
    await expect.poll(() => item.locator('.item-title').innerText()).toBe(before);
    await page.waitForTimeout(500);
    await page.reload();
    await expect.poll(() => list.locator('li.item .item-title').first().innerText()).toBe(before);
  }, 120_000);
});
