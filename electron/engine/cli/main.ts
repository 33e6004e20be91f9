import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { createAppServices } from '../bootstrap.ts';
import { isSwitchboardError } from '../contract/errors.ts';
import { transcribeThrough } from '../meetings/queue.ts';
import { registerAppKeysCommand } from './commands/app-keys.ts';
import { registerChatCommand } from './commands/chat.ts';
import { registerDataCommand } from './commands/data.ts';
import { registerDoctorCommand } from './commands/doctor.ts';
import { registerProviderKeyCommands } from './commands/keys.ts';
import { registerMeetingsCommand } from './commands/meetings.ts';
import { registerModelSettingsCommands } from './commands/model-settings.ts';
import { registerModelsCommand } from './commands/models.ts';
import { registerOpenCommand } from './commands/open.ts';
import { registerProviderEditCommands } from './commands/provider-edit.ts';
import { registerProviderTools } from './commands/provider-tools.ts';
import { registerProvidersCommand } from './commands/providers.ts';
import { registerRecordCommand } from './commands/record.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerProvidersHealthCommand, registerProvidersStatsCommand } from './commands/stats.ts';
import { registerTokenCommand } from './commands/token.ts';
import { registerTranscribeCommand } from './commands/transcribe.ts';
import { registerUsageCommand } from './commands/usage.ts';
import { type CliContext, createCliContext } from './context.ts';
import { answeredByRunningServer } from './running-server.ts';

/** The version of this checkout, as package.json names it. */
const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };

export function buildProgram(): { program: Command; context: CliContext } {
  const program = new Command('switchboard')
    .description('Local-first AI: chat with local models, private meeting transcription, one router for every provider')
    .version(version, '-v, --version', 'print the version of Switchboard')
    .option('--config <file>', 'providers.yaml or providers.json (env: SWITCHBOARD_CONFIG)')
    .option('--data-dir <dir>', 'where Switchboard keeps its data (env: SWITCHBOARD_DATA_DIR)')
    .option('--models-dir <dir>', 'where local models are kept (env: SWITCHBOARD_MODELS_DIR)')
    .showHelpAfterError()
    .exitOverride();
  const context = createCliContext(program, (paths, options) => createAppServices(paths, options));
  // Every command starts from a valid configuration: a broken one stops it before it does anything
  // (exit 2). `serve` builds its services itself, with the transcription queue and the file watch; the
  // reports a running server answers need none.
  program.hook('preAction', async (_program, command) => {
    if (command.name() !== 'serve' && !answeredByRunningServer(command, context)) await context.services();
  });
  registerChatCommand(program, context);
  const providers = registerProvidersCommand(program, context);
  registerProvidersStatsCommand(providers, context);
  registerProvidersHealthCommand(providers, context);
  registerProviderKeyCommands(providers, context);
  registerProviderEditCommands(providers, context);
  registerUsageCommand(program, context);
  registerAppKeysCommand(program, context);
  const models = registerModelsCommand(
    program,
    () => context.paths(),
    async () => (await context.services()).engine,
  );
  registerModelSettingsCommands(models, context);
  registerProviderTools(program, providers, context);
  registerMeetingsCommand(program, () => context.services());
  const transcribeServices = async () => {
    const services = await context.services();
    return {
      store: services.store,
      transcribe: transcribeThrough(services.engine),
      audioDir: join(services.paths.dataDir, 'audio'),
    };
  };
  registerTranscribeCommand(program, transcribeServices);
  registerRecordCommand(program, transcribeServices);
  registerServeCommand(program, context);
  registerOpenCommand(program, context);
  registerTokenCommand(program, context);
  registerDataCommand(program, context);
  registerDoctorCommand(program, context);
  return { program, context };
}

/** The exit statuses the README's CLI section documents. */
export const EXIT = {
  ok: 0,
  /** The command failed; stderr says why in one line. */
  failed: 1,
  /** The configuration is invalid; stderr lists every problem (file, path, what to do). */
  config: 2,
} as const;

/** One line, the reason, and what to do: never a stack trace. */
function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * `switchboard … | head`: once the reader has gone there is nowhere to write, which is no failure. Later
 * output is dropped and the command ends as it would have (usage recorded, the database closed).
 */
function dropOutputOnceReaderIsGone(stream: NodeJS.WriteStream): void {
  if (stream.listenerCount('error') > 0) return;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    stream.write = (() => true) as NodeJS.WriteStream['write'];
  });
}

export async function main(argv: string[]): Promise<number> {
  dropOutputOnceReaderIsGone(process.stdout);
  dropOutputOnceReaderIsGone(process.stderr);
  const { program, context } = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`switchboard: ${reasonOf(error)}\n`);
    return isSwitchboardError(error) && error.code === 'CONFIG_INVALID' ? EXIT.config : EXIT.failed;
  } finally {
    await context.close();
  }
}
