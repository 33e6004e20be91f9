import type { Command } from 'commander';
import { loadApiToken, writeNewToken } from '../../server/token.ts';
import type { CliContext } from '../context.ts';

/** `switchboard token [--rotate]`: the local API's token, for clients' Authorization: Bearer header. */
export function registerTokenCommand(program: Command, context: CliContext): void {
  program
    .command('token')
    .description('print the local API token (created on first use; SWITCHBOARD_API_TOKEN overrides it)')
    .option('--rotate', 'replace the token: clients using the old one are refused from the next request')
    .action((options: { rotate?: boolean }) => {
      const { dataDir } = context.paths();
      if (options.rotate && process.env.SWITCHBOARD_API_TOKEN) {
        throw new Error('SWITCHBOARD_API_TOKEN sets the token: change that variable instead of rotating the file');
      }
      const token = options.rotate ? writeNewToken(dataDir) : loadApiToken(dataDir);
      process.stdout.write(`${token.token}\n`);
      if (options.rotate) process.stderr.write('New token written; restart `switchboard serve` to use it.\n');
    });
}
