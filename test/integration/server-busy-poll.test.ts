import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedCli, serveCli, type TestDataDir, testDataDir } from '../support/cli.ts';

/**
 * Busy polling (`server.busy_poll_us` in providers.yaml): after a lone request `serve`'s event loop keeps
 * turning for the window set instead of sleeping, then sleeps again, so an idle server takes no CPU; 0
 * turns it off; a client whose requests come further apart than the window gets no spin between them.
 * Seen from outside, as `top` sees it: the CPU time of serve's main thread (/proc) while a client sends a
 * request every 80 ms (each within the window of the one before: the loop never sleeps), every 150 ms, and
 * over a stretch once they stopped. A spin takes a whole core; CPU ticks are 10 ms.
 */

const WINDOW_MS = 100;
const STRETCH_MS = 800;
let spinning: { data: TestDataDir; serve: ServedCli };
let off: { data: TestDataDir; serve: ServedCli };

async function served(busyPollUs: number): Promise<{ data: TestDataDir; serve: ServedCli }> {
  const data = testDataDir();
  const config = join(data.dir, 'server.yaml');
  writeFileSync(config, `server:\n  busy_poll_us: ${busyPollUs}\n`);
  return { data, serve: await serveCli({ ...data, args: [...data.args, '--config', config] }) };
}

/** CPU milliseconds (user + system) serve's main thread has used so far. */
function mainThreadCpuMs(serve: ServedCli): number {
  const pid = serve.child.pid!;
  const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The main thread's CPU milliseconds over `ms`, idle, or with a request every `everyMs`. */
async function cpuOver(serve: ServedCli, ms: number, everyMs?: number): Promise<number> {
  const before = mainThreadCpuMs(serve);
  const until = performance.now() + ms;
  if (everyMs !== undefined) {
    while (performance.now() < until - everyMs) {
      expect((await serve.fetch('/health')).status).toBe(200);
      await sleep(everyMs);
    }
  }
  await sleep(until - performance.now());
  return mainThreadCpuMs(serve) - before;
}

beforeAll(async () => {
  // One after the other: a server that fails to start leaves the one before it to afterAll to stop.
  spinning = await served(WINDOW_MS * 1000);
  off = await served(0);
  // Start-up's own work (migrations, model discovery) done before anything is measured.
  await sleep(1500);
}, 120_000);
afterAll(async () => {
  for (const served of [spinning, off]) {
    await served?.serve.stop();
    served?.data.remove();
  }
});

describe('busy polling after a lone request', () => {
  it('keeps the loop turning while requests come within the window, then leaves the server idle', async () => {
    const idleBefore = await cpuOver(spinning.serve, STRETCH_MS);
    // Nearly the whole stretch on one core (750 ms of 800 alone; a quarter where the tests beside it share the cores).
    const asked = await cpuOver(spinning.serve, STRETCH_MS, 80);
    await sleep(WINDOW_MS);
    const idleAfter = await cpuOver(spinning.serve, STRETCH_MS);
    const seen = `CPU ms idle before ${idleBefore}, while asked ${asked}, idle after ${idleAfter}`;
    expect(idleBefore, seen).toBeLessThanOrEqual(60);
    expect(asked, seen).toBeGreaterThanOrEqual(STRETCH_MS / 4);
    expect(idleAfter, seen).toBeLessThanOrEqual(60);
  });

  it('does not spin for a client whose requests come further apart than the window', async () => {
    // Each request's own wait (its answer) is short and still spun through: a few ms at most.
    expect(await cpuOver(spinning.serve, STRETCH_MS, 150)).toBeLessThanOrEqual(80);
  });

  it('never spins with busy_poll_us: 0', async () => {
    expect(await cpuOver(off.serve, STRETCH_MS, 80)).toBeLessThanOrEqual(80);
  });
});
