/**
 * `switchboard` as bin/switchboard.mjs runs it, with the serve and token commands registered here
 * until the CLI's main registers them itself.
 */
import { registerServeCommand } from '../../electron/engine/cli/commands/serve.ts';
import { registerTokenCommand } from '../../electron/engine/cli/commands/token.ts';
import { buildProgram } from '../../electron/engine/cli/main.ts';

const { program, context } = buildProgram();
const has = (name: string) => program.commands.some((command) => command.name() === name);
if (!has('serve')) registerServeCommand(program, context);
if (!has('token')) registerTokenCommand(program, context);
try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (error) {
  process.stderr.write(`switchboard: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await context.close();
}
