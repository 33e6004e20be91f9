// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  fakeMicrophoneFlags,
  goToPane,
  openApp,
  pageProblems,
  type RunningApp,
  STANDUP_WAV,
  stageSuite,
  startApp,
} from './harness.ts';

const stage = stageSuite({
  workspace: { cloudFallback: false },
  // Chromium's fake capture device plays standup.wav (over and over) as the microphone; the fake UI grants access.
  browserArgs: fakeMicrophoneFlags(STANDUP_WAV),
});
let app: RunningApp;
let page: Page;
beforeAll(() => {
  ({ app, page } = stage as Required<typeof stage>);
});

const clock = (text: string) => {
  const [, minutes, seconds] = /(\d+):(\d\d)/.exec(text) ?? [];
  return Number(minutes) * 60 + Number(seconds);
};

/** The transcript's lines as shown: "0:07 words…". */
async function shownSegments(view: Page): Promise<{ at: number; text: string }[]> {
  const rows = view.getByRole('region', { name: 'Transcript' }).locator('li.segment');
  const shown: { at: number; text: string }[] = [];
  for (const row of await rows.all()) {
    shown.push({
      at: clock(await row.locator('.timestamp').innerText()),
      text: (await row.locator('.segment-text').innerText()).trim(),
    });
  }
  return shown;
}

async function startRecording(view: Page, options: { call?: boolean } = {}): Promise<number> {
  // A fresh page: the new-meeting view, whatever meeting the last test left open.
  await view.reload();
  await goToPane(view, 'Meetings');
  if (options.call) await view.getByRole('checkbox', { name: /Also record the other side of a call/ }).check();
  await view.getByRole('button', { name: 'Record from the microphone' }).click();
  const bar = view.getByRole('status').filter({ hasText: 'Recording' });
  await bar.waitFor({ timeout: 20_000 });
  return Date.now();
}

describe('recording from the microphone, transcribed live', () => {
  it('shows transcript segments with their times while recording, before Stop; Stop finishes the meeting', async () => {
    const clicked = Date.now();
    await startRecording(page);
    const title = page.getByRole('textbox', { name: 'Meeting title' });
    expect(await title.inputValue()).toMatch(/^Recording \d{4}-\d\d-\d\d/);
    const status = page.locator('.meeting-header .status');
    expect(await status.innerText()).toBe('recording');

    // The stand-up's first turn ends about 6 s in: its words appear while the microphone is still on.
    await expect
      .poll(async () => (await shownSegments(page)).length, { timeout: 120_000, interval: 250 })
      .toBeGreaterThan(0);
    const stop = page.getByRole('button', { name: 'Stop' });
    expect(await stop.isVisible()).toBe(true);
    expect(await status.innerText()).toBe('recording');
    const live = await shownSegments(page);
    expect(live[0]!.at).toBe(0);
    expect(live[0]!.text.length).toBeGreaterThan(0);
    // Word timestamps: each word of a segment is a place to play from.
    expect(await page.locator('li.segment button.word').count()).toBeGreaterThan(0);

    const elapsed = clock(await page.getByRole('status').filter({ hasText: 'Recording' }).innerText());
    await stop.click();
    const stopped = Date.now();
    await expect.poll(() => status.innerText(), { timeout: 120_000, interval: 500 }).toBe('done');
    const duration = clock(await page.locator('.meeting-header .duration').innerText());
    // At least what the bar showed (capture starts before the bar), at most from the Record click to Stop.
    expect(duration).toBeGreaterThanOrEqual(elapsed - 1);
    expect(duration).toBeLessThanOrEqual(Math.ceil((stopped - clicked) / 1000) + 1);
    expect((await shownSegments(page)).length).toBeGreaterThan(0);
    // The recording is the meeting's audio: the player is there once it is finished, and a word plays from
    // where it was said.
    await page.getByLabel('Meeting audio').waitFor();
    const word = page.locator('li.segment button.word').nth(3);
    const wordAt = clock((await word.getAttribute('title')) ?? '');
    await word.click();
    await expect
      .poll(() => page.getByLabel('Meeting audio').evaluate((audio) => (audio as HTMLAudioElement).currentTime), {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(wordAt);
    expect(
      await page.getByLabel('Meeting audio').evaluate((audio) => (audio as HTMLAudioElement).currentTime),
    ).toBeLessThan(wordAt + 2);

    await page.reload();
    await goToPane(page, 'Meetings');
    const listed = page.getByRole('complementary', { name: 'Meetings' }).getByRole('button', { name: /Recording/ });
    await listed.first().waitFor();
    expect(await listed.count()).toBe(1);
    expect(pageProblems(page)).toEqual([]);
  }, 300_000);

  it('records a call as two channels: the microphone is "me", the shared tab\'s audio "them"', async () => {
    await startRecording(page, { call: true });
    // Chromium's fake screen share comes with a fake audio track: the other side of the call.
    expect(await page.locator('.meeting-header').innerText()).toContain('me and them');
    expect(await page.getByRole('status').filter({ hasText: 'Recording' }).innerText()).toContain('me and them');
    const sides = page.getByRole('region', { name: 'Transcript' }).locator('li.segment .channel');
    await expect.poll(() => sides.count(), { timeout: 120_000, interval: 250 }).toBeGreaterThan(0);
    expect(await sides.first().innerText()).toMatch(/^(me|them)$/i);
    await page.getByRole('button', { name: 'Stop' }).click();
    const status = page.locator('.meeting-header .status');
    await expect.poll(() => status.innerText(), { timeout: 120_000, interval: 500 }).toBe('done');
    // Every line of the transcript says whose side it is from; the stand-up is on the microphone.
    const rows = page.getByRole('region', { name: 'Transcript' }).locator('li.segment');
    expect(await rows.count()).toBe(await sides.count());
    expect((await sides.allInnerTexts()).map((side) => side.toLowerCase())).toContain('me');
  }, 300_000);

  it('keeps the audio up to the moment the server is killed (kill -9), and transcribes it after a restart', async () => {
    const started = await startRecording(page);
    // Let it record for a while, with a segment or two stored.
    await expect
      .poll(async () => (await shownSegments(page)).length, { timeout: 120_000, interval: 250 })
      .toBeGreaterThan(0);
    await page.waitForTimeout(Math.max(0, 12_000 - (Date.now() - started)));
    const seenBeforeKill = (await shownSegments(page)).length;
    const recordedSeconds = (Date.now() - started) / 1000;
    await app.kill();

    // The page says the recording stopped and that what was recorded is kept.
    const stopped = page.getByRole('alert').filter({ hasText: /The recording stopped/ });
    await stopped.waitFor({ timeout: 30_000 });
    expect(await stopped.innerText()).toMatch(/What was recorded up to \d+:\d\d is kept/);

    app = await startApp(stage.workspace);
    stage.app = app;
    const reopened = await openApp(stage.browser, app);
    await goToPane(reopened, 'Meetings');
    const list = reopened.getByRole('complementary', { name: 'Meetings' });
    await list
      .getByRole('button', { name: /Recording/ })
      .first()
      .click();
    const status = reopened.locator('.meeting-header .status');
    await expect.poll(() => status.innerText(), { timeout: 120_000, interval: 500 }).toBe('done');
    // Everything up to at most a second before the kill was kept, and transcribed.
    const duration = clock(await reopened.locator('.meeting-header .duration').innerText());
    expect(duration).toBeGreaterThanOrEqual(Math.floor(recordedSeconds - 1));
    expect(duration).toBeLessThanOrEqual(Math.ceil(recordedSeconds) + 1);
    const segments = await shownSegments(reopened);
    expect(segments.length).toBeGreaterThanOrEqual(seenBeforeKill);
    expect(segments.at(-1)!.at).toBeGreaterThanOrEqual(6);
    expect(pageProblems(reopened)).toEqual([]);
  }, 300_000);
});
