import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort } from '../../test/support/ports.ts';
import type { Target } from './load.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH_TOKEN = 'sb-bench-token-0123456789abcdefghij';
export const UPSTREAM_KEY = 'sk-bench-upstream-key-0000';

export interface Child {
  process: ChildProcess;
  url: string;
  stop(): void;
}

/**
 * Starts a TypeScript entry of this folder under this Node (with `nodeOptions` such as --cpu-prof) and
 * waits for its `READY <url>` line.
 */
export function startChild(entry: string, args: string[] = [], nodeOptions: string[] = []): Promise<Child> {
  const child = spawn(process.execPath, [...nodeOptions, fileURLToPath(new URL(entry, import.meta.url)), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /READY (\S+)/.exec(out);
      if (!ready) return;
      child.stdout!.off('data', onData);
      resolve({ process: child, url: ready[1]!, stop: () => child.stdin!.end() });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${entry} exited (${code}) before it was ready`)));
  });
}

/** The upstream itself as a target of the load. */
export function directTarget(upstream: Child): Target {
  return {
    name: 'direct',
    url: upstream.url,
    pid: upstream.process.pid,
    model: 'bench-model',
    headers: { authorization: `Bearer ${UPSTREAM_KEY}` },
  };
}

/** What any Node gateway adds here (floor.ts: node:http in, an undici Pool out, nothing else) as a target. */
export function floorTarget(floor: Child): Target {
  return { name: 'node floor', url: floor.url, pid: floor.process.pid, model: 'upstream/bench-model', headers: {} };
}

/** A Switchboard child (switchboard.ts, of this checkout or another) as a target. */
export function switchboardTarget(name: string, child: Child): Target {
  return {
    name,
    url: child.url,
    pid: child.process.pid,
    model: 'upstream/bench-model',
    headers: { authorization: `Bearer ${BENCH_TOKEN}` },
  };
}

/**
 * The benchmark's processes, each a child killed when this process exits, and its targets: the upstream
 * (direct), the node floor (and with `floorBusyPoll` the floor polling as Switchboard does), Switchboard, and
 * Switchboard as built in other checkouts (`--also
 * <label>=<checkout>`: a `git archive` of an earlier commit with node_modules linked in), so that a change
 * is measured beside what it changes, under the same load.
 */
export async function startTargets(
  also: readonly string[],
  { floorBusyPoll = false }: { floorBusyPoll?: boolean } = {},
): Promise<{ children: Child[]; upstream: Child; targets: Target[] }> {
  const children = childrenKilledOnExit();
  const upstream = await startChild('./upstream.ts');
  children.push(upstream);
  const switchboard = await startChild('./switchboard.ts', [upstream.url, BENCH_TOKEN]);
  children.push(switchboard);
  const targets = [switchboardTarget('switchboard', switchboard)];
  for (const spec of also) {
    const [label, checkout] = spec.split('=');
    if (!label || !checkout) throw new Error(`--also wants <label>=<checkout>, not "${spec}"`);
    const entry = pathToFileURL(resolve(checkout, 'bench/gateway/switchboard.ts')).href;
    const child = await startChild(entry, [upstream.url, BENCH_TOKEN]);
    children.push(child);
    targets.push(switchboardTarget(label, child));
  }
  const floor = await startChild('./floor.ts', [upstream.url]);
  children.push(floor);
  const floors = [floorTarget(floor)];
  if (floorBusyPoll) {
    const polling = await startChild('./floor.ts', [upstream.url, 'busy-poll']);
    children.push(polling);
    floors.push({ ...floorTarget(polling), name: 'node floor, busy polling' });
  }
  return { children, upstream, targets: [directTarget(upstream), ...floors, ...targets] };
}

/** A list of children that are killed when this process exits, however it exits (Ctrl-C included). */
export function childrenKilledOnExit(): Child[] {
  const children: Child[] = [];
  process.on('exit', () => {
    for (const child of children) child.process.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
  return children;
}

/** Asks each child to stop and waits (5 s at most) until it has: a Switchboard child removes its data dir. */
export async function stopChildren(children: readonly Child[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.process.exitCode !== null || child.process.signalCode !== null) return resolve();
          const timer = setTimeout(resolve, 5_000);
          child.process.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.stop();
        }),
    ),
  );
}

/**
 * @portkey-ai/gateway as its package runs it (build/start-server.js, Node, headless). Its postinstall
 * (patch-package) was not run; the gateway starts and proxies without it.
 */
export async function startPortkey(): Promise<Child> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [`${REPO_ROOT}node_modules/@portkey-ai/gateway/build/start-server.js`, `--port=${port}`, '--headless'],
    // Its errors go to its stderr, one stack per failed request: counted by the load, not printed.
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Portkey's gateway exited (${child.exitCode})`);
    const up = await fetch(url).then(
      () => true,
      () => false,
    );
    if (up) return { process: child, url, stop: () => child.kill('SIGTERM') };
    await new Promise((done) => setTimeout(done, 200));
  }
  child.kill('SIGKILL');
  throw new Error('Portkey’s gateway did not start within 30 s');
}
