// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CLOUD_PROVIDER, openApp, runCli, stageSuite, startApp } from './harness.ts';

const stage = stageSuite({ fake: { text: 'Kept across restarts.' }, start: false });
/** The title the (fake) model gives the conversation: its answer, cleaned. */
const TITLE = 'Kept across restarts';

/** The app's own data requests a page made: none may leave the sign-in page. */
function dataRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname.startsWith('/api/app/')) seen.push(request.url());
  });
  return seen;
}

async function expectSignInPageOnly(page: Page) {
  await page.getByRole('main', { name: 'Sign in' }).waitFor();
  expect(await page.getByRole('navigation', { name: 'Sections' }).count()).toBe(0);
  const text = await page.locator('body').innerText();
  expect(text).not.toMatch(/leaves this machine|Conversations/);
}

describe('sign-in in browser mode', () => {
  it('a session survives a server restart; a used link, sign-out and the pasted token lead back to the old conversations', async () => {
    stage.app = await startApp(stage.workspace);
    const loginUrl = stage.app.loginUrl;
    const page = await openApp(stage.browser, stage.app);

    // A conversation to find again.
    await page.getByRole('combobox', { name: 'Answer with' }).selectOption({ label: CLOUD_PROVIDER.model });
    await page.getByRole('textbox', { name: 'Message' }).fill('Remember the harbour plan');
    await page.getByRole('button', { name: 'Send message' }).click();
    await page.locator('.message-body').getByText('Kept across restarts.').waitFor({ timeout: 60_000 });
    // Listed at once under the question; then under the title the model gave it.
    const conversations = page.getByRole('complementary', { name: 'Conversations' });
    await conversations.getByText(TITLE).waitFor();

    // The server restarts: a reload is still signed in, and the conversation is there.
    await stage.app.stop();
    stage.app = await startApp(stage.workspace);
    const origin = stage.app.origin;
    await page.goto(`${origin}/`);
    await page.getByRole('complementary', { name: 'Conversations' }).getByText(TITLE).waitFor({ timeout: 30_000 });

    // Signing out shows the sign-in page and nothing else.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectSignInPageOnly(page);

    // A link already used signs nobody in, and says so; the page asks for no data.
    const second = await stage.browser.context.newPage();
    const requested = dataRequests(second);
    await second.goto(loginUrl.replace(new URL(loginUrl).origin, origin));
    await expectSignInPageOnly(second);
    expect(await second.getByRole('alert').innerText()).toMatch(/already used or has expired/);
    expect(new URL(second.url()).searchParams.has('code')).toBe(false);
    expect(requested).toEqual([]);

    // A wrong token is refused in words; the right one opens the app with the old conversation.
    const token = readFileSync(join(stage.workspace.dataDir, 'api-token'), 'utf8').trim();
    await second.getByLabel('API token').fill(`${token.slice(0, -2)}xx`);
    await second.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => second.getByRole('alert').innerText()).toMatch(/not the API token/);
    expect(requested).toEqual([]);
    await second.getByLabel('API token').fill(token);
    await second.getByRole('button', { name: 'Sign in' }).click();
    await second.getByRole('complementary', { name: 'Conversations' }).getByText(TITLE).waitFor({ timeout: 30_000 });
    expect(await second.locator('body').innerText()).not.toContain(token);
    await second.close();
    await page.close();
  }, 300_000);

  it('`switchboard open` prints a fresh one-time link to the running server that signs a new browser in', async () => {
    await stage.browser.context.clearCookies();
    const page = await stage.browser.context.newPage();
    await page.goto(`${stage.app!.origin}/`);
    await expectSignInPageOnly(page);

    const opened = runCli(stage.workspace, ['open', '--no-browser']);
    expect(opened.stderr).not.toMatch(/Error|at .*\.ts:/);
    expect(opened.status).toBe(0);
    const link = /Open Switchboard: (\S+)/.exec(opened.stdout)?.[1];
    expect(link).toMatch(new RegExp(`^${stage.app!.origin}/\\?code=`));

    await page.goto(link!);
    await page.getByRole('navigation', { name: 'Sections' }).waitFor();
    await page.getByRole('complementary', { name: 'Conversations' }).getByText(TITLE).waitFor();
    // The link works once.
    const again = await stage.browser.context.newPage();
    await stage.browser.context.clearCookies();
    await again.goto(link!);
    await expectSignInPageOnly(again);
  }, 120_000);

  it('`switchboard open` with no server running says how to start one', async () => {
    const url = stage.app!.origin;
    await stage.app!.stop();
    // The stopped server no longer says where it runs; ask its old address, where nothing listens now.
    expect(existsSync(join(stage.workspace.dataDir, 'server.json'))).toBe(false);
    const opened = runCli(stage.workspace, ['open', '--no-browser', '--url', url]);
    expect(opened.status).not.toBe(0);
    expect(opened.stderr).toBe(
      `switchboard: Switchboard is not running at ${url}: start it with \`switchboard serve\`\n`,
    );
  }, 60_000);
});
