import { join } from 'node:path';
import type { Command } from 'commander';
import { deleteAllData } from '../../app-api/data.ts';
import { SwitchboardError } from '../../contract/errors.ts';
import type { CliContext } from '../context.ts';

/** `switchboard data delete-all --yes`: the settings pane's "Delete all my data", from a terminal. */
export function registerDataCommand(program: Command, context: CliContext): void {
  program
    .command('data')
    .description('the data Switchboard keeps on this machine')
    .command('delete-all')
    .description('delete every meeting and recording, chat, usage record, stored key and app setting')
    .option('--yes', 'really delete (required: nothing asks again)')
    .action(async (options: { yes?: boolean }) => {
      if (!options.yes) {
        throw new SwitchboardError(
          'INVALID_REQUEST',
          'this deletes every meeting and recording, chat, usage record, stored API key and app setting: run it again with --yes',
        );
      }
      const services = await context.services();
      await deleteAllData({
        store: services.store,
        queue: services.queue,
        engine: services.engine,
        dataFolders: [join(services.paths.dataDir, 'audio'), services.uploadsDir],
      });
      process.stdout.write(
        `Deleted all meetings, recordings, chats, usage, stored keys and app settings in ${services.paths.dataDir}. Models and your providers file were kept.\n`,
      );
    });
}
