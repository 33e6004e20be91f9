// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  fakeMicrophoneFlags,
  goToPane,
  pageProblems,
  type RunningApp,
  STANDUP_WAV,
  stageSuite,
  waitForMeetingOrError,
} from './harness.ts';

const stage = stageSuite({
  workspace: { cloudFallback: false },
  // Chromium's fake capture device plays standup.wav as the microphone; the fake UI grants access.
  browserArgs: fakeMicrophoneFlags(STANDUP_WAV),
});
let app: RunningApp;
let page: Page;
beforeAll(() => {
  ({ app, page } = stage as Required<typeof stage>);
});

describe('recording from the microphone', () => {
  it('records, uploads the recording as a file, and stores a transcribed meeting', async () => {
    await goToPane(page, 'Meetings');
    await page.getByRole('button', { name: 'Record from the microphone' }).click();
    const recording = page.getByRole('status').filter({ hasText: 'Recording' });
    await recording.waitFor({ timeout: 10_000 });
    await page.waitForTimeout(6_000);
    expect(await recording.innerText()).toMatch(/Recording 0:0[5-9]/);
    await page.getByRole('button', { name: 'Stop and transcribe' }).click();

    await waitForMeetingOrError(page, app);
    const title = page.getByRole('textbox', { name: 'Meeting title' });
    await expect
      .poll(() => title.inputValue().catch(() => ''), { timeout: 30_000 })
      .toMatch(/^Recording \d{4}-\d\d-\d\d/);
    const status = page.locator('.meeting-header .status');
    await expect.poll(() => status.innerText(), { timeout: 180_000, interval: 500 }).toMatch(/done|failed/);
    expect(await status.innerText()).toBe('done');
    // About six seconds of audio made it through MediaRecorder, the upload and the decoder.
    const shown = await page.locator('.meeting-header .duration').innerText();
    const [, minutes, seconds] = /^(\d+):(\d\d)$/.exec(shown) ?? [];
    const duration = Number(minutes) * 60 + Number(seconds);
    expect(duration).toBeGreaterThanOrEqual(4);
    expect(duration).toBeLessThanOrEqual(10);

    // Stored: after a reload the meeting is still there, done.
    await page.reload();
    await goToPane(page, 'Meetings');
    const listed = page.getByRole('complementary', { name: 'Meetings' }).getByRole('button', { name: /Recording/ });
    await listed.first().waitFor();
    expect(await listed.count()).toBe(1);
    expect(await listed.first().locator('.status').innerText()).toMatch(/^0:0\d$/);
    expect(pageProblems(page)).toEqual([]);
  }, 300_000);
});
