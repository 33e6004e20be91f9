import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedCli, serveCli, type TestDataDir, testDataDir } from '../support/cli.ts';
import { cpuMs } from '../support/cpu.ts';

/**
 * Busy polling (`server.busy_poll_us` in providers.yaml): after a lone request `serve`'s event loop keeps
 * turning for the window set instead of sleeping, then sleeps again, so an idle server takes no CPU; a
 * client whose requests come further apart than the window gets no spin between them; an edit to 0 turns
 * it off in the running server. Seen from outside, as `top` sees it: the CPU time of serve's main thread
 * (/proc) while a client sends a request every 80 ms (each within the window of the one before: the loop
 * never sleeps), every 150 ms, and over a stretch once they stopped. A spin takes a whole core; CPU ticks
 * are 10 ms.
 */

const WINDOW_MS = 100;
const STRETCH_MS = 800;
let data: TestDataDir;
let config: string;
let serve: ServedCli;

const writeWindow = (busyPollUs: number) => writeFileSync(config, `server:\n  busy_poll_us: ${busyPollUs}\n`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The main thread's CPU milliseconds over `ms`, idle, or with a request every `everyMs`. */
async function cpuOver(ms: number, everyMs?: number): Promise<number> {
  const mainThread = () => {
    const used = cpuMs(serve.child.pid, true);
    if (used === undefined) throw new Error(`no /proc/<pid>/task/<pid>/stat for serve: this test reads Linux's /proc`);
    return used;
  };
  const before = mainThread();
  const until = performance.now() + ms;
  if (everyMs !== undefined) {
    while (performance.now() < until - everyMs) {
      expect((await serve.fetch('/health')).status).toBe(200);
      await sleep(everyMs);
    }
  }
  await sleep(until - performance.now());
  return mainThread() - before;
}

beforeAll(async () => {
  data = testDataDir();
  config = join(data.dir, 'server.yaml');
  writeWindow(WINDOW_MS * 1000);
  serve = await serveCli({ ...data, args: [...data.args, '--config', config] });
  // Start-up's own work (migrations, model discovery) done before anything is measured.
  await sleep(1500);
}, 120_000);
afterAll(async () => {
  await serve?.stop();
  data?.remove();
});

describe('busy polling after a lone request', () => {
  it('keeps the loop turning while requests come within the window, then leaves the server idle', async () => {
    const idleBefore = await cpuOver(STRETCH_MS);
    // Nearly the whole stretch on one core (750 ms of 800 alone; a quarter where the tests beside it share the cores).
    const asked = await cpuOver(STRETCH_MS, 80);
    await sleep(WINDOW_MS);
    const idleAfter = await cpuOver(STRETCH_MS);
    const seen = `CPU ms idle before ${idleBefore}, while asked ${asked}, idle after ${idleAfter}`;
    expect(idleBefore, seen).toBeLessThanOrEqual(60);
    expect(asked, seen).toBeGreaterThanOrEqual(STRETCH_MS / 4);
    expect(idleAfter, seen).toBeLessThanOrEqual(60);
  });

  it('does not spin for a client whose requests come further apart than the window', async () => {
    // Each request's own wait (its answer) is short and still spun through: a few ms at most.
    expect(await cpuOver(STRETCH_MS, 150)).toBeLessThanOrEqual(80);
  });

  it('stops spinning once busy_poll_us is set to 0 in the running server', async () => {
    writeWindow(0);
    // The file is read again within a moment of the edit; from then on requests 80 ms apart get no spin.
    await expect.poll(() => cpuOver(STRETCH_MS / 2, 80), { timeout: 15_000, interval: 0 }).toBeLessThanOrEqual(40);
  });
});
