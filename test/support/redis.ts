import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import { RedisState } from '../../electron/engine/routing/redis-state.ts';
import { freePort } from './ports.ts';

/**
 * A real redis-server (Debian's package, installed by scripts/setup.sh) on 127.0.0.1 and a free port,
 * with nothing persisted: each test file gets its own, and can kill it and bring it back on the same
 * port (Redis going away mid-run).
 */
export interface TestRedis {
  url: string;
  port: number;
  /** Kills the server at once (SIGKILL: no goodbye to its clients). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing was persisted). */
  start(): Promise<void>;
  /** Stops it for good. */
  close(): Promise<void>;
}

function findRedisServer(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      'redis-server is not installed: the shared-state tests run a real Redis. Run `npm run setup` (installs the Debian package redis-server) or `apt-get install redis-server`.',
    );
  }
}

export async function startRedis(): Promise<TestRedis> {
  const binary = findRedisServer();
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const process = spawn(
        binary,
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = process;
      let output = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start in 10 s:\n${output}`)), 10_000);
      process.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      process.stderr!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      process.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output}`));
      });
    });
  const kill = () =>
    new Promise<void>((resolve) => {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null || running.signalCode !== null) return resolve();
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, kill, start, close: kill };
}

/**
 * Two "instances" sharing `namespace` on a test Redis (two RedisState objects, two connections each,
 * heartbeats every 200 ms); `open` collects them for the file's cleanup.
 */
export async function connectPair(
  url: string,
  namespace: string,
  open: RedisState[],
): Promise<[RedisState, RedisState]> {
  const options = { url, namespace, heartbeatMs: 200 };
  const a = await RedisState.connect(options);
  const b = await RedisState.connect(options);
  open.push(a, b);
  return [a, b];
}

/** Batch scripts a Redis has run so far (INFO commandstats): each one an instance's round trip. */
export async function scriptsRun(client: Redis): Promise<number> {
  const stats = await client.info('commandstats');
  return [...stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}
