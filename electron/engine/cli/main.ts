import { Command, CommanderError } from 'commander';
import { createAppServices } from '../bootstrap.ts';
import { isSwitchboardError } from '../contract/errors.ts';
import { registerChatCommand } from './commands/chat.ts';
import { registerProvidersCommand } from './commands/providers.ts';
import { type CliContext, createCliContext } from './context.ts';

export function buildProgram(): { program: Command; context: CliContext } {
  const program = new Command('switchboard')
    .description('Local-first AI: chat with local models, private meeting transcription, one router for every provider')
    .option('--config <file>', 'providers.yaml or providers.json (env: SWITCHBOARD_CONFIG)')
    .option('--data-dir <dir>', 'where Switchboard keeps its data (env: SWITCHBOARD_DATA_DIR)')
    .option('--models-dir <dir>', 'where local models are kept (env: SWITCHBOARD_MODELS_DIR)')
    .showHelpAfterError()
    .exitOverride();
  const context = createCliContext(program, (paths) => createAppServices(paths));
  registerChatCommand(program, context);
  registerProvidersCommand(program, context);
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
