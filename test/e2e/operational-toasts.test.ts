// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { always } from '../fakes/faults.ts';
import { CLOUD_PROVIDER, openApp, pageProblems, saveScreenshot, stageSuite, startApp } from './harness.ts';

/**
 * What happens to providers and the configuration while the app is open reaches it as a toast, in
 * words: through `GET /api/events` with the browser's session, from a real `switchboard serve`.
 */

const stage = stageSuite({ fake: { text: 'Fine.' }, start: false });
let page: Page;
let goodConfig = '';
let token = '';

beforeAll(async () => {
  // The cloud provider's breaker opens after two failures in a row, so a few requests show it.
  const config = parse(readFileSync(stage.workspace.configFile, 'utf8')) as {
    providers: Record<string, Record<string, unknown>>;
  };
  config.providers[CLOUD_PROVIDER.id]!.failover = { max_failures: 2, recovery_timeout: 600 };
  goodConfig = stringify(config);
  writeFileSync(stage.workspace.configFile, goodConfig);
  stage.app = await startApp(stage.workspace);
  page = await openApp(stage.browser, stage.app);
  token = readFileSync(join(stage.workspace.dataDir, 'api-token'), 'utf8').trim();
}, 180_000);

const toasts = () => page.getByRole('region', { name: 'Notifications' });

describe('operational events as toasts', () => {
  it('a providers.yaml edit that is refused shows one warning in words; a second one does not stack; the fix replaces it', async () => {
    writeFileSync(stage.workspace.configFile, `${goodConfig}\nstrategy: [not, a, strategy\n`);
    const warning = toasts().getByRole('alert');
    await warning.waitFor({ timeout: 30_000 });
    const said = await warning.innerText();
    expect(said).toMatch(/A change to the providers file was not applied/);
    expect(said).toMatch(/goes on with the last settings that worked/);
    // Words for people: no event name, no file path, no error code.
    expect(said).not.toMatch(/config\.rejected|providers\.yaml|CONFIG_INVALID|\//);

    // The same mistake again: still one toast, which says it happened twice.
    writeFileSync(stage.workspace.configFile, `${goodConfig}\nstrategy: [still, not, one\n`);
    await expect.poll(() => warning.innerText(), { timeout: 30_000 }).toMatch(/2 times/);
    expect(await toasts().getByRole('alert').count()).toBe(1);

    // Fixed: the warning gives way to good news, which goes by itself.
    writeFileSync(stage.workspace.configFile, goodConfig);
    const fixed = toasts().getByRole('status').filter({ hasText: 'The providers file was read again' });
    await fixed.waitFor({ timeout: 30_000 });
    expect(await toasts().getByRole('alert').count()).toBe(0);
    await fixed.waitFor({ state: 'detached', timeout: 30_000 });
  }, 120_000);

  it('a provider that keeps failing opens its breaker: the open app says so once, with what happens now', async () => {
    stage.fake.setFaults(always('server-error'));
    const ask = async () => {
      const response = await fetch(`${stage.app!.origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: `${CLOUD_PROVIDER.id}/${CLOUD_PROVIDER.model}`,
          messages: [{ role: 'user', content: 'Hello?' }],
          max_tokens: 8,
        }),
      });
      await response.arrayBuffer();
    };
    for (let i = 0; i < 4; i++) await ask();

    const warning = toasts()
      .getByRole('alert')
      .filter({ hasText: `${CLOUD_PROVIDER.label} failed several times` });
    await warning.waitFor({ timeout: 30_000 });
    expect(await warning.innerText()).toMatch(/sends its requests to your other providers/);
    await saveScreenshot(page, 'toast-breaker-open');
    // More requests while it rests add nothing on screen.
    for (let i = 0; i < 3; i++) await ask();
    await page.waitForTimeout(1_000);
    expect(await toasts().getByRole('alert').count()).toBe(1);

    await warning.getByRole('button', { name: /^Dismiss/ }).click();
    await warning.waitFor({ state: 'detached' });
    stage.fake.setFaults(undefined);
    expect(pageProblems(page)).toEqual([]);
  }, 180_000);
});
