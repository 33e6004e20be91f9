import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { readKey } from './keys.ts';

/** `providers add TYPE` and `providers remove ID`: providers kept with the app's settings, as the app adds them. */
export function registerProviderEditCommands(providers: Command, context: CliContext): void {
  providers
    .command('add')
    .description('add a provider (kept with the app settings; its key read from standard input with --key)')
    .argument(
      '<type>',
      'openai, anthropic, gemini, groq, together, openrouter, replicate, huggingface, ollama, azure or custom',
    )
    .option('--name <name>', 'the name shown for it')
    .option('--id <id>', 'its id (default: made from the name)')
    .option('--base-url <url>', 'its address (needed for custom and azure)')
    .option('--models <list>', 'its models, comma-separated; the first is its default')
    .option('--key', 'read its API key from standard input')
    .action(
      async (
        type: string,
        options: { name?: string; id?: string; baseUrl?: string; models?: string; key?: boolean },
      ) => {
        const key = options.key ? await readKey() : undefined;
        const models = options.models
          ?.split(',')
          .map((model) => model.trim())
          .filter(Boolean);
        const { engine } = await context.services();
        const id = engine.addProvider(
          {
            type,
            ...(options.name ? { name: options.name } : {}),
            ...(options.baseUrl ? { base_url: options.baseUrl } : {}),
            ...(models?.length ? { models, default_model: models[0] } : {}),
          },
          { id: options.id, key },
        );
        const view = engine.listProviders().find((p) => p.id === id);
        process.stdout.write(`Added ${view?.label ?? id} (${id})${view?.keys.length ? `, key ${view.keys[0]}` : ''}\n`);
      },
    );

  providers
    .command('remove')
    .description('remove a provider added in the app or with `providers add`, with its stored keys')
    .argument('<id>', 'provider id')
    .action(async (id: string) => {
      const { engine } = await context.services();
      const label = engine.provider(id).label;
      engine.removeProvider(id);
      process.stdout.write(`Removed ${label}\n`);
    });
}
