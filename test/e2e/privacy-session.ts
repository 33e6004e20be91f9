// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
/**
 * A whole Switchboard session as a person has it, run as one process tree so privacy-proof.test.ts can
 * start it inside a network namespace with every connect() traced: the fake cloud provider, `switchboard
 * serve`, Chromium showing the app, and the CLI. Chat with the local model, a meeting transcribed from a
 * file, its summary and exports — with a cloud provider configured with a key.
 *
 *   node test/e2e/privacy-session.ts cloud-off|chat-cloud RESULT.json
 *
 * cloud-off: cloud fallback off. chat-cloud: cloud fallback on (a chat is sent to the cloud on purpose),
 * cloud processing for meetings off (the default). Writes what the fake received and what the app said.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MeetingView } from '../../electron/engine/contract/api.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';
import {
  appApiClient,
  CLOUD_PROVIDER,
  goToPane,
  launchBrowser,
  makeWorkspace,
  openApp,
  pageProblems,
  STANDUP_WAV,
  startApp,
  switchboard,
  waitForMeetingOrError,
} from './harness.ts';

export type SessionMode = 'cloud-off' | 'chat-cloud';

export interface SessionResult {
  mode: SessionMode;
  /** Every request the fake cloud provider received: path and body as text. */
  cloudRequests: { path: string; body: string }[];
  /** The chat message the cloud was sent on purpose (chat-cloud), to tell it from meeting text. */
  cloudChatPrompt?: string;
  chatFacts: string;
  meeting: Pick<MeetingView, 'transcribedBy' | 'summary'> & { segmentTexts: string[]; title: string };
  shownTranscribedBy: string;
  shownSummarizedBy: string;
  markdownExport: string;
  /** Mode of the export the CLI wrote into the data dir. */
  exportFileMode: string;
  pageProblems: string[];
  /** Origins of every request the browser made; data: and blob: URLs count as "null". */
  pageOrigins: string[];
  appOrigin: string;
}

const [mode, output] = process.argv.slice(2) as [SessionMode, string];
if ((mode !== 'cloud-off' && mode !== 'chat-cloud') || !output) {
  throw new Error('usage: privacy-session.ts cloud-off|chat-cloud RESULT.json');
}

const fake = await startFakeOpenAI({ models: [CLOUD_PROVIDER.model, 'whisper-1'], text: 'Cloud answer.' });
const workspace = makeWorkspace({
  cloudUrl: `${fake.url}/v1`,
  cloudKey: FAKE_OPENAI_KEY,
  cloudFallback: mode === 'chat-cloud',
});
const cli = async (...args: string[]) => {
  const run = await switchboard(workspace, args);
  if (run.status !== 0) throw new Error(`switchboard ${args.join(' ')}: ${run.stderr}`);
  return run;
};
const app = await startApp(workspace);
// The browser is the user's, not Switchboard's: its own update and time checks (Chromium's component
// updater and network time, which Debian's build runs even with --disable-component-update) are turned
// off or resolved to nowhere, so the trace shows what Switchboard and its page do. Every request the
// page makes is recorded and must go to the app's own origin.
const browser = await launchBrowser([
  '--disable-features=NetworkTimeServiceQuerying',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
]);
try {
  const pageOrigins = new Set<string>();
  browser.context.on('request', (request) => pageOrigins.add(new URL(request.url()).origin));
  const page = await openApp(browser, app);
  const token = (await cli('token')).stdout.trim();
  const appCall = appApiClient(app, token).call;

  // Chat with the local model, in the app.
  await goToPane(page, 'Chat');
  await page.getByRole('textbox', { name: 'Message' }).fill('Once upon a time');
  await page.getByRole('button', { name: 'Send message' }).click();
  const answer = page.getByRole('article', { name: 'Answer' }).last();
  await answer.locator('.answer-facts').getByText('on this machine').waitFor({ timeout: 120_000 });
  const chatFacts = await answer.locator('.answer-facts').innerText();
  // A few words are enough: stop the story rather than wait for the model to fill its context.
  const stop = page.getByRole('button', { name: 'Stop the answer' });
  if (await stop.isVisible()) await stop.click();
  await page.getByRole('button', { name: 'Send message' }).waitFor({ timeout: 60_000 });

  // With cloud fallback on, a chat may go to the cloud: one is sent there on purpose.
  let cloudChatPrompt: string | undefined;
  if (mode === 'chat-cloud') {
    cloudChatPrompt = 'A chat question the cloud may see';
    const response = await fetch(`${app.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: `${CLOUD_PROVIDER.id}/${CLOUD_PROVIDER.model}`,
        messages: [{ role: 'user', content: cloudChatPrompt }],
      }),
    });
    if (!response.ok) throw new Error(`the cloud chat failed: ${response.status} ${await response.text()}`);
  }

  // A meeting from a file: transcribed, summarized, exported — in the app.
  await goToPane(page, 'Meetings');
  await page.getByTestId('audio-file-input').setInputFiles(STANDUP_WAV);
  await waitForMeetingOrError(page, app);
  const status = page.locator('.meeting-header .status');
  await status.getByText('done', { exact: true }).waitFor({ timeout: 300_000 });
  const shownTranscribedBy = await page.locator('.meeting-header .provenance').innerText();
  const summaryRegion = page.getByRole('region', { name: 'Summary' });
  await summaryRegion.getByRole('button', { name: 'Summarize' }).click();
  await summaryRegion.getByText(/^Summarized /).waitFor({ timeout: 300_000 });
  const shownSummarizedBy = await summaryRegion.getByText(/^Summarized /).innerText();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Markdown' }).click(),
  ]);
  const markdownExport = readFileSync((await download.path())!, 'utf8');

  const [listed] = await appCall<{ id: string }[]>('meetings.list', {});
  const meeting = await appCall<MeetingView>('meetings.get', { id: listed!.id });
  // An export written into the data dir, from the CLI.
  const exportFile = join(workspace.dataDir, 'meeting-export.md');
  await cli('meetings', 'export', meeting.id, '--format', 'md', '--out', exportFile);

  const result: SessionResult = {
    mode,
    cloudRequests: fake.requests.map((request) => ({ path: request.path, body: JSON.stringify(request.body) })),
    cloudChatPrompt,
    chatFacts,
    meeting: {
      title: meeting.title,
      transcribedBy: meeting.transcribedBy,
      summary: meeting.summary,
      segmentTexts: meeting.segments.map((segment) => segment.text.trim()).filter((text) => text.length >= 8),
    },
    shownTranscribedBy,
    shownSummarizedBy,
    markdownExport,
    exportFileMode: (statSync(exportFile).mode & 0o777).toString(8),
    pageProblems: pageProblems(page),
    pageOrigins: [...pageOrigins],
    appOrigin: app.origin,
  };
  writeFileSync(output, JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  await app.stop();
  await fake.close();
  workspace.cleanup();
}
