import { Argument, type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_MODEL_JOBS, type DefaultModelJob, type ModelOptions, modelOptionsSchema } from '../../contract/api.ts';
import { SwitchboardError } from '../../contract/errors.ts';
import { type CliContext, printJson, printTable } from '../context.ts';

/** What each job's default is when none is chosen, as the app's Settings says it. */
const AUTOMATIC: Record<DefaultModelJob, string> = {
  chat: '(routing decides)',
  summaries: '(routing decides)',
  transcription: '(the best Whisper installed)',
  embeddings: '(the local default)',
};

/** The settings one model can have, in the order they are shown, with their flags' words. */
const OPTION_LABELS: [keyof ModelOptions, string][] = [
  ['contextTokens', 'context'],
  ['temperature', 'temperature'],
  ['maxTokens', 'max tokens'],
  ['systemPrompt', 'system prompt'],
  ['gpuLayers', 'GPU layers'],
];

function number(integer: boolean) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      throw new InvalidArgumentError(integer ? 'give a whole number' : 'give a number');
    }
    return value;
  };
}

interface SettingsFlags {
  context?: number;
  temperature?: number;
  maxTokens?: number;
  systemPrompt?: string;
  gpuLayers?: number;
  reset?: boolean;
  json?: boolean;
}

/** The options the flags give, checked as the app checks them; undefined when no flag sets one. */
function optionsOf(flags: SettingsFlags): ModelOptions | undefined {
  const given: ModelOptions = {
    ...(flags.context !== undefined ? { contextTokens: flags.context } : {}),
    ...(flags.temperature !== undefined ? { temperature: flags.temperature } : {}),
    ...(flags.maxTokens !== undefined ? { maxTokens: flags.maxTokens } : {}),
    ...(flags.systemPrompt !== undefined ? { systemPrompt: flags.systemPrompt } : {}),
    ...(flags.gpuLayers !== undefined ? { gpuLayers: flags.gpuLayers } : {}),
  };
  if (Object.keys(given).length === 0) return undefined;
  const checked = modelOptionsSchema.safeParse(given);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const label = OPTION_LABELS.find(([key]) => key === issue.path[0])?.[1] ?? String(issue.path[0]);
    throw new SwitchboardError('INVALID_REQUEST', `${label}: ${issue.message}`, { retryable: false });
  }
  return checked.data;
}

function printOptions(model: string, options: ModelOptions | undefined): void {
  const set = OPTION_LABELS.filter(([key]) => options?.[key] !== undefined);
  if (set.length === 0) {
    process.stdout.write(
      `${model} has no settings of its own: requests use their own values or the model's defaults\n`,
    );
    return;
  }
  process.stdout.write(`${model}\n`);
  printTable(set.map(([key, label]) => [`  ${label}`, String(options![key])]));
}

/**
 * `models default` and `models settings`: the default model of each job and each model's own settings,
 * kept where the app keeps them (the engine's settings), so the app, the CLI and a running server agree.
 */
export function registerModelSettingsCommands(models: Command, context: CliContext): void {
  models
    .command('default')
    .description('the model each job uses when a request names none (no arguments: every job)')
    .addArgument(new Argument('[job]', 'the job').choices(DEFAULT_MODEL_JOBS))
    .argument(
      '[model]',
      'provider/model for chat and summaries, an installed model id for transcription and embeddings',
    )
    .option('--reset', 'let routing (or the local default) decide again')
    .option('--json', 'machine-readable output')
    .action(async (job: DefaultModelJob | undefined, model: string | undefined, flags: SettingsFlags) => {
      const { engine } = await context.services();
      if (job && (model !== undefined || flags.reset)) {
        if (model !== undefined && flags.reset) {
          throw new SwitchboardError('INVALID_REQUEST', 'give a model or --reset, not both', { retryable: false });
        }
        await engine.setDefaultModel(job, model ?? null);
      } else if (flags.reset) {
        throw new SwitchboardError('INVALID_REQUEST', `name the job to reset: ${DEFAULT_MODEL_JOBS.join(', ')}`, {
          retryable: false,
        });
      }
      const defaults = engine.defaultModels();
      const jobs = job ? [job] : DEFAULT_MODEL_JOBS;
      if (flags.json) return printJson(Object.fromEntries(jobs.map((j) => [j, defaults[j] ?? null])));
      printTable([['JOB', 'MODEL'], ...jobs.map((j) => [j, defaults[j] ?? AUTOMATIC[j]])]);
    });

  models
    .command('settings')
    .description("a model's own settings (no flags: show them; no model: every model that has some)")
    .argument('[model]', 'provider/model, e.g. local/qwen2.5-1.5b-instruct')
    .option('--context <n>', 'tokens its context holds (a model on this machine)', number(true))
    .option('--temperature <t>', 'sampling temperature, 0–2, when a request gives none', number(false))
    .option('--max-tokens <n>', 'longest answer in tokens, when a request gives none', number(true))
    .option('--system-prompt <text>', 'put before every conversation that brings no system message')
    .option('--gpu-layers <n>', 'layers offloaded to the GPU (0: CPU only)', number(true))
    .option('--reset', 'forget its settings (with flags: start again from those)')
    .option('--json', 'machine-readable output')
    .action(async (model: string | undefined, flags: SettingsFlags) => {
      const { engine } = await context.services();
      const given = optionsOf(flags);
      if (!model) {
        if (given || flags.reset) {
          throw new SwitchboardError('INVALID_REQUEST', 'name the model to change, as provider/model', {
            retryable: false,
          });
        }
        const all = engine.config.modelOptions ?? {};
        if (flags.json) return printJson(all);
        const names = Object.keys(all).sort();
        if (names.length === 0) process.stdout.write('no model has settings of its own\n');
        for (const name of names) printOptions(name, all[name]);
        return;
      }
      if (given || flags.reset) {
        const kept = flags.reset ? {} : (engine.config.modelOptions?.[model] ?? {});
        const next = { ...kept, ...given };
        engine.setModelOptions(model, Object.keys(next).length > 0 ? next : null);
      }
      const options = engine.config.modelOptions?.[model];
      if (flags.json) return printJson(options ?? {});
      printOptions(model, options);
    });
}
