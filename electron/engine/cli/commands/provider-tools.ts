import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CAPABILITIES, type Capability } from '../../contract/capabilities.ts';
import type { Engine } from '../../engine.ts';
import type { ComparedResponse } from '../../reports/reports.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { askRunningServer, readsRunningServer } from '../running-server.ts';
import { engineOf, usd } from './stats.ts';

/** Provider ids from `a,b,c`, each one the engine routes to. */
function providerIds(engine: Engine, list: string): string[] {
  const known = engine.listProviders().map((p) => p.id);
  const ids = list
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  for (const id of ids) {
    if (!known.includes(id)) throw new Error(`no provider "${id}": one of ${known.join(', ')}`);
  }
  if (ids.length === 0) throw new Error(`name providers to compare: --providers ${known.slice(0, 2).join(',')}`);
  return ids;
}

function describeAnswer(response: ComparedResponse): string {
  const head = `== ${response.providerId}${response.model ? ` (${response.model})` : ''}: ${response.latencyMs} ms`;
  if (response.error !== undefined) return `${head}, failed\n${response.error}\n`;
  const tokens = `${response.inputTokens ?? 0}+${response.outputTokens ?? 0} tokens`;
  const cost = response.costUsd === undefined ? 'price unknown' : usd(response.costUsd);
  return `${head}, ${tokens}, ${cost}\n${response.text ?? ''}\n`;
}

/** `compare "prompt" --providers a,b,c`, `batch FILE --provider P`, `models cheapest`, `providers forget-user|rotate`. */
export function registerProviderTools(program: Command, providers: Command, context: CliContext): void {
  program
    .command('compare')
    .description('the same prompt to several providers at once: answers, latency, tokens and cost side by side')
    .argument('<prompt>', 'what to ask')
    .requiredOption('--providers <ids>', 'comma-separated provider ids, e.g. openai,groq,local')
    .option('--json', 'machine-readable output')
    .action(async (prompt: string, options: { providers: string; json?: boolean }) => {
      const engine = await engineOf(context);
      const responses = await engine.reports.compareResponses(prompt, providerIds(engine, options.providers));
      if (options.json) printJson({ responses });
      else process.stdout.write(responses.map(describeAnswer).join('\n'));
      if (responses.every((r) => r.error !== undefined)) process.exitCode = 1;
    });

  program
    .command('batch')
    .description(
      'prompts from a file (one a line) to one provider, a few at a time; one JSON line per answer, in order',
    )
    .argument('<file>', 'a text file with one prompt per line')
    .requiredOption('--provider <id>', 'the provider that answers them all')
    .option('--concurrency <n>', 'prompts in flight at once', '4')
    .action(async (file: string, options: { provider: string; concurrency: string }) => {
      const prompts = readFileSync(file, 'utf8')
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean);
      if (prompts.length === 0) throw new Error(`${file} holds no prompt: write one per line`);
      const concurrency = Number(options.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1)
        throw new Error('--concurrency is a whole number, 1 or more');
      const engine = await engineOf(context);
      const [providerId] = providerIds(engine, options.provider);
      let done = 0;
      const responses = await engine.reports.batchQuery(prompts, providerId!, {
        concurrency,
        onAnswer: () => process.stderr.write(`${++done}/${prompts.length} answered\n`),
      });
      for (const [index, response] of responses.entries())
        process.stdout.write(`${JSON.stringify({ index, prompt: prompts[index], ...response })}\n`);
      if (responses.some((r) => r.error !== undefined)) process.exitCode = 1;
    });

  const models = program.commands.find((command) => command.name() === 'models');
  if (!models) throw new Error('the models command must be registered before the provider tools');
  models
    .command('cheapest')
    .description('the cheapest configured model for a capability, by price per token')
    .option('--capability <name>', `one of ${CAPABILITIES.join(', ')}`, 'chat')
    .option('--free-only', 'only models that cost nothing (local, free tiers)')
    .option('--json', 'machine-readable output')
    .action(async (options: { capability: string; freeOnly?: boolean; json?: boolean }) => {
      if (!(CAPABILITIES as readonly string[]).includes(options.capability))
        throw new Error(`--capability ${options.capability}: use one of ${CAPABILITIES.join(', ')}`);
      const engine = await engineOf(context);
      const choice = engine.reports.cheapestModelFor(options.capability as Capability, { freeOnly: options.freeOnly });
      if (!choice) {
        throw new Error(
          `no configured model${options.freeOnly ? ' that costs nothing' : ' with a known price'} can do ${options.capability}`,
        );
      }
      if (options.json) return printJson(choice);
      process.stdout.write(
        `${choice.providerId}/${choice.model}  ${usd(choice.price.inputPerMTok)} in, ${usd(choice.price.outputPerMTok)} out per million tokens\n`,
      );
    });

  readsRunningServer(
    providers
      .command('forget-user')
      .description("forget a user's sticky provider (in the running server, if one runs)")
      .argument('<user>', 'the user id requests carry')
      .action(async (user: string) => {
        const path = `/api/chat/user-cache?user_id=${encodeURIComponent(user)}`;
        if (!(await askRunningServer(context, path, 'DELETE'))) (await engineOf(context)).sticky.clearUser(user);
        process.stdout.write(`user ${user} gets a provider afresh on the next request\n`);
      }),
  );

  readsRunningServer(
    providers
      .command('rotate')
      .description('every sticky user gets a provider afresh (in the running server, if one runs)')
      .action(async () => {
        if (!(await askRunningServer(context, '/api/chat/rotate', 'POST')))
          (await engineOf(context)).sticky.forceRotation();
        process.stdout.write('rotated: every user gets a provider afresh on the next request\n');
      }),
  );
}
