import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { findRunningServer } from '../../server/running.ts';
import { loadApiToken } from '../../server/token.ts';
import type { CliContext } from '../context.ts';

const DEFAULT_URL = 'http://127.0.0.1:7878';

/** The command that opens a URL in the desktop's browser, or undefined where there is no desktop. */
function browserCommand(url: string, env: NodeJS.ProcessEnv): [string, string[]] | undefined {
  if (process.platform === 'darwin') return ['open', [url]];
  if (process.platform === 'win32') return ['cmd', ['/c', 'start', '""', url]];
  return env.DISPLAY || env.WAYLAND_DISPLAY ? ['xdg-open', [url]] : undefined;
}

/** Starts the browser without waiting for it; false when there is none to start. */
function openInBrowser(url: string): Promise<boolean> {
  const command = browserCommand(url, process.env);
  if (!command) return Promise.resolve(false);
  return new Promise((resolve) => {
    const child = spawn(command[0], command[1], { detached: true, stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}

/** Asks the running server for a one-time sign-in link (the API token proves this user may). */
async function requestLink(serverUrl: string, token: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(`${serverUrl}/api/session/link`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    throw new Error(`Switchboard is not running at ${serverUrl}: start it with \`switchboard serve\``);
  }
  const body = (await response.json().catch(() => ({}))) as { url?: string; error?: { message?: string } };
  if (!response.ok || !body.url) {
    throw new Error(
      `the server at ${serverUrl} gave no sign-in link (${response.status}${body.error?.message ? `: ${body.error.message}` : ''})`,
    );
  }
  return body.url;
}

/** `switchboard open`: a fresh one-time sign-in link to the running server, opened in the browser where there is one. */
export function registerOpenCommand(program: Command, context: CliContext): void {
  program
    .command('open')
    .description('open the app in the browser with a fresh one-time sign-in link (prints the link too)')
    .option('--url <url>', `the server to open (default: the one \`switchboard serve\` runs, else ${DEFAULT_URL})`)
    .option('--no-browser', 'print the link only')
    .action(async (options: { url?: string; browser: boolean }) => {
      const { dataDir } = context.paths();
      const serverUrl = (options.url ?? findRunningServer(dataDir)?.url ?? DEFAULT_URL).replace(/\/+$/, '');
      const link = await requestLink(serverUrl, loadApiToken(dataDir).token);
      process.stdout.write(`Open Switchboard: ${link}\n`);
      const opened = options.browser && (await openInBrowser(link));
      process.stderr.write(
        opened
          ? 'Opened in your browser. The link works once, for five minutes.\n'
          : 'Open the link in a browser on this machine. It works once, for five minutes.\n',
      );
    });
}
