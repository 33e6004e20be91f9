import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SearchHit } from '../../electron/engine/contract/api.ts';
import { openStore } from '../../electron/engine/store/store.ts';
import { runCli, type TestDataDir, testDataDir } from '../support/cli.ts';

/** `switchboard meetings …` run as a process on a data dir, as a person runs it. */

const dirs: TestDataDir[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.remove();
});

function dataDir(options: { whisper?: boolean } = {}): TestDataDir {
  const data = testDataDir(options);
  dirs.push(data);
  return data;
}

/** Opens the data dir's database the way the CLI does, for arranging what a test starts from. */
function storeOf(data: TestDataDir) {
  return openStore({ file: join(data.dir, 'switchboard.db') });
}

describe('switchboard meetings search', () => {
  it('shows each hit with the words of its own segment, also across meetings', async () => {
    const data = dataDir();
    const store = storeOf(data);
    const said = {
      Planning: ['We open with the weather.', 'The budget for the cloud is spent.', 'Bo fixes the installer.'],
      Roadmap: ['Ada presents the roadmap.', 'A second budget line for hiring.', 'Questions at the end.'],
    };
    for (const [title, lines] of Object.entries(said)) {
      const meeting = store.meetings.create({ title, status: 'done' });
      store.meetings.replaceSegments(
        meeting.id,
        lines.map((text, index) => ({
          index,
          start: index * 10,
          end: index * 10 + 8,
          text,
          speaker: null,
          confidence: null,
        })),
      );
    }
    store.close();

    const result = await runCli([...data.args, 'meetings', 'search', 'budget', '--json']);
    expect(result.stderr).toBe('');
    const hits = JSON.parse(result.stdout) as SearchHit[];
    expect(hits.map((hit) => [hit.title, hit.timestamp, hit.snippet]).sort()).toEqual([
      ['Planning', 10, 'The [[budget]] for the cloud is spent.'],
      ['Roadmap', 10, 'A second [[budget]] line for hiring.'],
    ]);
  }, 30_000);
});
