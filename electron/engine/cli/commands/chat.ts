import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { onInterrupt } from '../interrupt.ts';

interface ChatOptions {
  provider?: string;
  model?: string;
  profile?: string;
  user?: string;
  system?: string;
  maxTokens?: string;
  temperature?: string;
  json?: boolean;
}

export function registerChatCommand(program: Command, context: CliContext): void {
  program
    .command('chat')
    .description('send one prompt and stream the answer to the terminal')
    .argument('<prompt>', 'what to ask')
    .option('--provider <id>', 'use this provider only')
    .option('--model <model>', 'model id, provider/model, or a profile name')
    .option('--profile <name>', 'routing profile (default, code_generation, …)')
    .option('--user <id>', 'user id for per-user sticky routing')
    .option('--system <text>', 'system prompt')
    .option('--max-tokens <n>', 'longest answer in tokens')
    .option('--temperature <t>', 'sampling temperature (0 = greedy)')
    .option('--json', 'print one JSON object instead of streaming text')
    .action(async (prompt: string, options: ChatOptions) => {
      const { engine } = await context.services();
      const controller = new AbortController();
      const stopListening = onInterrupt(() => controller.abort());
      const messages = [
        ...(options.system ? [{ role: 'system' as const, content: options.system }] : []),
        { role: 'user' as const, content: prompt },
      ];
      let text = '';
      let route: unknown;
      let usage: unknown;
      try {
        for await (const event of engine.chat(
          {
            model: options.model,
            messages,
            max_tokens: options.maxTokens ? Number(options.maxTokens) : undefined,
            temperature: options.temperature ? Number(options.temperature) : undefined,
          },
          {
            providerId: options.provider,
            // As in the app: a chat that names no model asks the `chat` profile, the default chat model.
            profile: options.profile ?? (options.model || options.provider ? undefined : 'chat'),
            userId: options.user,
            signal: controller.signal,
          },
        )) {
          if (event.type === 'route') {
            route = event.route;
            if (!options.json && event.route.fallbackDepth > 0) {
              process.stderr.write(
                `(answered by ${event.route.providerLabel} after ${event.route.fallbackDepth} fallback(s))\n`,
              );
            }
          } else if (event.type === 'text') {
            text += event.text;
            if (!options.json) process.stdout.write(event.text);
          } else if (event.type === 'finish') usage = event.usage;
        }
      } finally {
        stopListening();
      }
      if (options.json) printJson({ text, route, usage });
      else process.stdout.write('\n');
    });
}
