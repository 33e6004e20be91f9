import type { Command } from 'commander';
import { findRunningServer } from '../server/running.ts';
import { loadApiToken } from '../server/token.ts';
import type { CliContext } from './context.ts';

/**
 * Asks the `switchboard serve` that runs on this data dir for `path` (with a JSON `input`); undefined when none runs. Breakers,
 * keys, health and sticky users live in the process that serves: a fresh process would know nothing of them.
 */
export async function askRunningServer<T>(
  context: CliContext,
  path: string,
  method: 'GET' | 'POST' | 'DELETE' = 'GET',
  input?: object,
): Promise<T | undefined> {
  const { dataDir } = context.paths();
  const server = findRunningServer(dataDir);
  if (!server) return undefined;
  let response: Response;
  try {
    response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${loadApiToken(dataDir).token}`,
        ...(input ? { 'content-type': 'application/json' } : {}),
      },
      body: input ? JSON.stringify(input) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new Error(
      `the server of this data dir (pid ${server.pid}, ${server.url}) does not answer (${(error as Error).message}): stop it or wait for it`,
    );
  }
  const body = (await response.json().catch(() => undefined)) as T | { error?: { message?: string } } | undefined;
  if (!response.ok) {
    const problem = body as { error?: { message?: string }; detail?: string } | undefined;
    const reason = problem?.error?.message ?? problem?.detail ?? `HTTP ${response.status}`;
    throw new Error(`the server at ${server.url} refused ${path}: ${reason}`);
  }
  process.stderr.write(`(from the server running at ${server.url})\n`);
  return body as T;
}

const SERVER_REPORTS = new WeakSet<Command>();

/** Marks a command that reports the running server's state when one runs on the data dir. */
export function readsRunningServer(command: Command): Command {
  SERVER_REPORTS.add(command);
  return command;
}

/**
 * Whether the server running on this data dir answers `command`: it then needs no configuration of its own
 * (the file may be broken on disk while the server keeps serving the last good one, and says so).
 */
export function answeredByRunningServer(command: Command, context: CliContext): boolean {
  return SERVER_REPORTS.has(command) && findRunningServer(context.paths().dataDir) !== undefined;
}
