import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { createAppServices } from '../bootstrap.ts';
import { isSwitchboardError } from '../contract/errors.ts';
import { transcribeThrough } from '../meetings/queue.ts';
import { registerChatCommand } from './commands/chat.ts';
import { registerDataCommand } from './commands/data.ts';
import { registerDoctorCommand } from './commands/doctor.ts';
import { registerProviderKeyCommands } from './commands/keys.ts';
import { registerMeetingsCommand } from './commands/meetings.ts';
import { registerModelsCommand } from './commands/models.ts';
import { registerOpenCommand } from './commands/open.ts';
import { registerProvidersCommand } from './commands/providers.ts';
import { registerRecordCommand } from './commands/record.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerProvidersHealthCommand, registerProvidersStatsCommand } from './commands/stats.ts';
import { registerTokenCommand } from './commands/token.ts';
import { registerTranscribeCommand } from './commands/transcribe.ts';
import { registerUsageCommand } from './commands/usage.ts';
import { type CliContext, createCliContext } from './context.ts';

export function buildProgram(): { program: Command; context: CliContext } {
  const program = new Command('switchboard')
    .description('Local-first AI: chat with local models, private meeting transcription, one router for every provider')
    .option('--config <file>', 'providers.yaml or providers.json (env: SWITCHBOARD_CONFIG)')
    .option('--data-dir <dir>', 'where Switchboard keeps its data (env: SWITCHBOARD_DATA_DIR)')
    .option('--models-dir <dir>', 'where local models are kept (env: SWITCHBOARD_MODELS_DIR)')
    .showHelpAfterError()
    .exitOverride();
  const context = createCliContext(program, (paths, options) => createAppServices(paths, options));
  registerChatCommand(program, context);
  const providers = registerProvidersCommand(program, context);
  registerProvidersStatsCommand(providers, context);
  registerProvidersHealthCommand(providers, context);
  registerProviderKeyCommands(providers, context);
  registerUsageCommand(program, context);
  registerModelsCommand(program, () => context.paths());
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

/** One line, the reason, and what to do: never a stack trace. */
function reasonOf(error: unknown): string {
  if (isSwitchboardError(error)) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export async function main(argv: string[]): Promise<number> {
  const { program, context } = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`switchboard: ${reasonOf(error)}\n`);
    return 1;
  } finally {
    await context.close();
  }
}
