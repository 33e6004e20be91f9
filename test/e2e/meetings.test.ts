// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { parseSync } from 'subtitle';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateDiarizationModels } from '../../scripts/diarization-onnx/generate.ts';
import type { FakeServer } from '../fakes/http-fake.ts';
import { writeToneMeeting } from '../support/speaker-tones.ts';
import {
  goToPane,
  pageProblems,
  type RunningApp,
  STANDUP_WAV,
  saveScreenshot,
  stageSuite,
  waitForMeetingOrError,
} from './harness.ts';

const stage = stageSuite({ workspace: { cloudFallback: false } });
let fake: FakeServer;
let app: RunningApp;
let page: Page;
beforeAll(() => {
  ({ fake, app, page } = stage as Required<typeof stage>);
});

/**
 * Reads the job's progress bar until the meeting is done, returning every percentage it showed, and
 * every percentage the meeting list showed for it meanwhile.
 */
async function followProgress(page: Page): Promise<{ bar: number[]; list: number[] }> {
  const seen: number[] = [];
  const listed: number[] = [];
  const deadline = Date.now() + 240_000;
  const status = page.locator('.meeting-header .status');
  const listStatus = page.getByRole('complementary', { name: 'Meetings' }).locator('.item.active .status');
  while (Date.now() < deadline) {
    const text = await status.innerText().catch(() => '');
    if (text === 'done') return { bar: seen, list: listed };
    if (text === 'failed' || text === 'cancelled') throw new Error(`the transcription ended ${text}`);
    const value = await page
      .getByRole('progressbar', { name: /Transcribing|Waiting/ })
      .getAttribute('aria-valuenow', { timeout: 500 })
      .catch(() => null);
    if (value !== null && Number(value) !== seen.at(-1)) seen.push(Number(value));
    const inList = /transcribing (\d+)\s*%/.exec(await listStatus.innerText({ timeout: 500 }).catch(() => ''));
    if (inList) listed.push(Number(inList[1]));
    await page.waitForTimeout(250);
  }
  throw new Error(`the transcription did not finish in 240 s; progress seen: ${seen.join(', ')}`);
}

describe('meetings in browser mode', () => {
  it('transcribes standup.wav: upload, live progress to the end, segments with timestamps, SRT export', async () => {
    await goToPane(page, 'Meetings');
    await page.getByTestId('audio-file-input').setInputFiles(STANDUP_WAV);

    // The meeting opens at once, titled after the file, and its segments appear while it runs.
    await waitForMeetingOrError(page, app);
    expect(await page.getByRole('textbox', { name: 'Meeting title' }).inputValue()).toBe('standup');
    // Escape cancels an edit of the title (it used to save it).
    const title = page.getByRole('textbox', { name: 'Meeting title' });
    await title.fill('A title I did not mean');
    await title.press('Escape');
    await expect.poll(() => title.inputValue()).toBe('standup');
    const { bar: progress, list: listed } = await followProgress(page);
    expect(progress.length, 'the progress bar showed no value while transcribing').toBeGreaterThan(0);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    // The list follows the same job: its percentage moves on (it used to stay at 0 %).
    expect(Math.max(0, ...listed), `the list showed ${listed.join(', ')} %`).toBeGreaterThan(0);
    expect(await page.locator('.meeting-header .duration').innerText()).toBe('0:55');
    // The list shows the finished meeting with its duration instead of a percentage.
    expect(
      await page.getByRole('complementary', { name: 'Meetings' }).locator('.status-done').first().innerText(),
    ).toBe('0:55');

    const segments = page.getByRole('region', { name: 'Transcript' }).locator('li.segment');
    expect(await segments.count()).toBeGreaterThan(4);
    const stamps = await page.getByRole('region', { name: 'Transcript' }).locator('button.timestamp').allInnerTexts();
    expect(stamps[0]).toMatch(/^\d+:\d\d$/);

    // The recording plays in the page, and a timestamp seeks the player to its segment.
    const audio = page.locator('audio');
    expect(await audio.count(), 'the meeting has no audio player').toBe(1);
    await expect
      .poll(() => audio.evaluate((element: HTMLAudioElement) => element.readyState), {
        timeout: 15_000,
        message: `the meeting's audio did not load from ${await audio.getAttribute('src')}`,
      })
      .toBeGreaterThanOrEqual(1);
    expect(await audio.evaluate((element: HTMLAudioElement) => element.duration)).toBeCloseTo(55.2, 0);
    const fourth = page.getByRole('region', { name: 'Transcript' }).locator('button.timestamp').nth(3);
    const [minutes, seconds] = (await fourth.innerText()).split(':').map(Number);
    await fourth.click();
    await expect
      .poll(() => audio.evaluate((element: HTMLAudioElement) => element.currentTime), { timeout: 10_000 })
      .toBeGreaterThanOrEqual((minutes ?? 0) * 60 + (seconds ?? 0));

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'SRT' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.srt$/);
    const srt = readFileSync(await download.path(), 'utf8');
    const cues = parseSync(srt).filter((node) => node.type === 'cue');
    expect(cues.length).toBe(await segments.count());
    const first = cues[0];
    expect(first?.type === 'cue' && first.data.end).toBeGreaterThan(0);
    expect(srt).toMatch(/^1\r?\n\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d/);

    expect(pageProblems(page)).toEqual([]);
  }, 300_000);

  it('summarizes the meeting with the local model', async () => {
    const summary = page.getByRole('region', { name: 'Summary' });
    await summary.getByRole('button', { name: 'Summarize' }).click();
    // The summary says who wrote it, and that it was written on this machine.
    await summary.getByText(/^Summarized /).waitFor({ timeout: 240_000 });
    expect(await summary.getByText(/^Summarized /).innerText()).toBe('Summarized on this machine by stories260K');
    await expect(summary.getByRole('heading', { name: 'Action items' }).isVisible()).resolves.toBe(true);
    await expect(summary.getByRole('heading', { name: 'Decisions' }).isVisible()).resolves.toBe(true);
    expect(fake.requests).toHaveLength(0);
    await saveScreenshot(page, 'meetings');
  }, 300_000);

  it('finds the meeting by a word of its transcript', async () => {
    // A word as the search index splits them: at anything but letters and digits (random weights write
    // runs like `abc/#def` with no spaces; squeezing the punctuation out made a word no index holds).
    const word =
      (await page.locator('.segment-text').first().innerText()).split(/[^\p{L}\p{N}]+/u).find((w) => w.length > 3) ??
      '';
    expect(word.length).toBeGreaterThan(0);
    await page.getByRole('searchbox', { name: 'Search meetings and chats' }).fill(word);
    const results = page.getByRole('list', { name: 'Search results' });
    await results.waitFor({ timeout: 10_000 });
    expect(await results.getByRole('button').first().innerText()).toContain('standup');
    await page.getByRole('searchbox', { name: 'Search meetings and chats' }).fill('');
  }, 300_000);

  it('exports the meeting as JSON and imports it back as a second meeting with its own recording', async () => {
    await page
      .getByRole('complementary', { name: 'Meetings' })
      .getByRole('button', { name: /standup/ })
      .first()
      .click();
    const segments = page.getByRole('region', { name: 'Transcript' }).locator('li.segment');
    await expect.poll(() => segments.count()).toBeGreaterThan(4);
    const count = await segments.count();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'JSON' }).click(),
    ]);
    const bundle = await download.path();

    await page.getByRole('button', { name: 'New meeting' }).click();
    await page.getByTestId('meeting-import-input').setInputFiles(bundle);
    await expect.poll(() => page.getByRole('complementary', { name: 'Meetings' }).locator('li.item').count()).toBe(2);
    expect(await page.getByRole('textbox', { name: 'Meeting title' }).inputValue()).toBe('standup');
    await expect.poll(() => segments.count()).toBe(count);
    expect(await page.locator('audio').count(), 'the imported meeting has no player').toBe(1);
    expect(pageProblems(page)).toEqual([]);
  }, 120_000);

  it('cancels a transcription, keeps what it has, and resumes it to the end', async () => {
    await page.getByRole('button', { name: 'New meeting' }).click();
    await page.getByTestId('audio-file-input').setInputFiles(STANDUP_WAV);
    await waitForMeetingOrError(page, app);
    const segments = page.getByRole('region', { name: 'Transcript' }).locator('li.segment');
    await expect.poll(() => segments.count(), { timeout: 120_000 }).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Cancel' }).click();
    const status = page.locator('.meeting-header .status');
    await expect.poll(() => status.innerText(), { timeout: 30_000 }).toBe('cancelled');
    const kept = await segments.count();
    expect(kept).toBeLessThan(8);

    await page.getByRole('button', { name: 'Resume transcription' }).click();
    await expect.poll(() => status.innerText(), { timeout: 30_000 }).not.toBe('cancelled');
    await followProgress(page);
    expect(await segments.count()).toBeGreaterThan(kept);
    expect(await page.locator('.meeting-header .duration').innerText()).toBe('0:55');
    expect(pageProblems(page)).toEqual([]);
  }, 300_000);

  it('finds the speakers of a recording on this machine, and a name given to one shows in the transcript and the VTT export', async () => {
    // A diarization model of the real interface (generated: see scripts/diarization-onnx) and a
    // recording of two voices it tells apart.
    const { workspace } = stage as Required<typeof stage>;
    await generateDiarizationModels(join(workspace.modelsDir, 'diarization', 'speakers-test'));
    const recording = join(workspace.dir, 'two-voices.wav');
    writeToneMeeting(recording, [
      { voice: 'A', seconds: 4 },
      { voice: 'B', seconds: 4 },
      { voice: 'A', seconds: 4 },
    ]);
    await page.getByRole('button', { name: 'New meeting' }).click();
    await page.getByTestId('audio-file-input').setInputFiles(recording);
    await waitForMeetingOrError(page, app);
    await followProgress(page);

    const speakers = page.getByRole('region', { name: 'Speakers' });
    await speakers.getByRole('button', { name: 'Find speakers' }).click();
    const first = speakers.getByRole('textbox', { name: 'Name of Speaker 1' });
    await first.waitFor({ timeout: 120_000 });
    await first.fill('Ada');
    await first.press('Enter');
    const transcript = page.getByRole('region', { name: 'Transcript' });
    await expect.poll(() => transcript.locator('.speaker').first().innerText()).toBe('Ada');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'VTT' }).click(),
    ]);
    expect(readFileSync(await download.path(), 'utf8')).toContain('<v Ada>');
    expect(pageProblems(page)).toEqual([]);
  }, 300_000);
});
