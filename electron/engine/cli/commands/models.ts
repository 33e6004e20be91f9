import { type Command, Option } from 'commander';
import { detectHardware } from '../../../../native/gpu/llama-host.ts';
import { type CatalogEntry, parseQuantizationPreference, selectVariant } from '../../../../native/models/catalog.ts';
import { ModelStore, type PullProgress } from '../../../../native/models/model-store.ts';
import { machineBudgetOf, recommend } from '../../../../native/models/recommend.ts';
import type { Engine } from '../../engine.ts';
import type { PullProgress as OllamaPullProgress } from '../../providers/ollama/adapter.ts';
import { printJson, printTable } from '../context.ts';
import { onInterrupt } from '../interrupt.ts';

const KINDS = ['llm', 'embedding', 'whisper', 'diarization'];

function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e3).toFixed(1)} kB`;
}

function formatParameters(count: number): string {
  return count >= 1e9 ? `${(count / 1e9).toFixed(1)}B` : `${Math.round(count / 1e6)}M`;
}

function formatProgress(p: PullProgress): string {
  const file = p.fileCount > 1 ? ` [${p.fileIndex + 1}/${p.fileCount}]` : '';
  const done = p.totalBytes
    ? `${formatBytes(p.receivedBytes)} / ${formatBytes(p.totalBytes)}`
    : formatBytes(p.receivedBytes);
  const percent = p.totalBytes ? `  ${Math.floor((100 * p.receivedBytes) / p.totalBytes)}%` : '';
  const eta = p.etaSeconds === undefined ? '' : `  ETA ${Math.ceil(p.etaSeconds)}s`;
  return `pulling ${p.model}${file}  ${done}${percent}  ${formatBytes(p.bytesPerSecond)}/s${eta}`;
}

/** Progress on stderr: one rewritten line on a terminal, a line a second otherwise (logs, CI). */
function progressPrinter(): { update(p: PullProgress): void; finish(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let printed = false;
  return {
    update(p) {
      const now = Date.now();
      const complete = p.totalBytes !== undefined && p.receivedBytes === p.totalBytes;
      if (!tty && now - last < 1000 && !complete) return;
      last = now;
      printed = true;
      process.stderr.write(tty ? `\r${formatProgress(p)}\u001b[K` : `${formatProgress(p)}\n`);
    },
    /** Ends the progress line; safe to call twice. */
    finish() {
      if (tty && printed) process.stderr.write('\n');
      printed = false;
    },
  };
}

/** `models list|catalog|pull|import|rm|recommend`: the models on this machine. */
/** `PROVIDER/NAME` (ollama/llama3.2:1b): a model a provider keeps itself; catalog ids have no slash. */
function providerModel(id: string): { providerId: string; model: string } | undefined {
  const slash = id.indexOf('/');
  return slash > 0 && slash < id.length - 1
    ? { providerId: id.slice(0, slash), model: id.slice(slash + 1) }
    : undefined;
}

/** One line per status Ollama reports, with the share done where it says how much. */
function providerPullLine(model: string, p: OllamaPullProgress): string {
  const share = p.total && p.completed !== undefined ? `  ${Math.floor((100 * p.completed) / p.total)}%` : '';
  return `${model}: ${p.status}${share}\n`;
}

export function registerModelsCommand(
  program: Command,
  resolveDirs: () => { modelsDir: string },
  engine: () => Promise<Engine>,
): Command {
  const store = () => new ModelStore({ modelsDir: resolveDirs().modelsDir });
  const models = program
    .command('models')
    .description('local models: the catalog, downloads, imports, default models and per-model settings');

  models
    .command('list')
    .description('installed models')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const installed = await store().list();
      if (options.json) return printJson(installed);
      if (installed.length === 0) {
        process.stdout.write('no models installed; `switchboard models catalog` lists models to pull\n');
        return;
      }
      printTable([
        ['ID', 'KIND', 'QUANT', 'SIZE', 'PATH'],
        ...installed.map((m) => [m.id, m.kind, m.quantisation ?? '-', formatBytes(m.sizeBytes), m.path]),
      ]);
    });

  models
    .command('catalog')
    .description('models that can be pulled (default quantisation from LOCAL_QUANTIZATION)')
    .addOption(new Option('--kind <kind>', 'only models of this kind').choices(KINDS))
    .option('--json', 'machine-readable output')
    .action((options: { kind?: string; json?: boolean }) => {
      const { kind } = options;
      const modelStore = store();
      const entries = modelStore.catalog.models.filter((entry: CatalogEntry) => !kind || entry.kind === kind);
      if (options.json) return printJson(entries);
      const preference = parseQuantizationPreference(process.env.LOCAL_QUANTIZATION);
      printTable([
        ['ID', 'KIND', 'PARAMS', 'QUANTISATIONS', 'SIZE', 'RAM', 'LICENCE'],
        ...entries.map((entry) => {
          const chosen = selectVariant(entry, { preference });
          const quants = entry.quantisations.map((q: { name: string }) =>
            q.name === chosen.quantisation ? `${q.name}*` : q.name,
          );
          return [
            entry.id,
            entry.kind,
            formatParameters(entry.parameters),
            quants.join(','),
            formatBytes(chosen.sizeBytes),
            formatBytes(chosen.ramBytes),
            entry.licence,
          ];
        }),
      ]);
      process.stdout.write('* the quantisation a pull takes by default\n');
    });

  models
    .command('pull')
    .description(
      'download a catalog model (ID or ID:QUANT; an interrupted pull resumes), or PROVIDER/NAME onto an Ollama provider',
    )
    .argument('<id>', 'catalog id (qwen2.5-1.5b-instruct, qwen2.5-1.5b-instruct:Q8_0) or ollama/NAME')
    .option('--quant <name>', 'quantisation to download (e.g. Q8_0, fp16)')
    .action(async (id: string, options: { quant?: string }) => {
      const controller = new AbortController();
      const stopListening = onInterrupt(() => controller.abort());
      const progress = progressPrinter();
      const managed = providerModel(id);
      try {
        if (managed) {
          const manager = await engine();
          for await (const p of manager.pullProviderModel(managed.providerId, managed.model, controller.signal)) {
            process.stderr.write(providerPullLine(id, p));
          }
          process.stdout.write(`${id} pulled\n`);
          return;
        }
        const model = await store().pull(id, {
          quantisation: options.quant,
          signal: controller.signal,
          onProgress: progress.update,
        });
        progress.finish();
        process.stdout.write(`${model.id} (${model.quantisation}, ${formatBytes(model.sizeBytes)}) → ${model.path}\n`);
      } finally {
        progress.finish();
        stopListening();
      }
    });

  models
    .command('import')
    .description('add a GGUF file or a Whisper folder (transformers.js layout) from disk')
    .argument('<path>', 'a .gguf file or a Whisper model folder')
    .option('--id <id>', 'name to install it under (default: the file or folder name)')
    .option('--link', 'link to the original instead of copying it')
    .option('--embedding', 'the GGUF is an embedding model')
    .action(async (path: string, options: { id?: string; link?: boolean; embedding?: boolean }) => {
      const model = await store().importPath(path, {
        id: options.id,
        mode: options.link ? 'link' : 'copy',
        kind: options.embedding ? 'embedding' : 'llm',
      });
      process.stdout.write(`${model.id} (${model.kind}, ${formatBytes(model.sizeBytes)}) → ${model.path}\n`);
    });

  models
    .command('rm')
    .description('delete an installed model, or PROVIDER/NAME from an Ollama provider')
    .argument('<id>', 'installed model id or ollama/NAME')
    .action(async (id: string) => {
      const managed = providerModel(id);
      if (managed) {
        await (await engine()).deleteProviderModel(managed.providerId, managed.model);
        process.stdout.write(`removed ${id}\n`);
        return;
      }
      const model = await store().remove(id);
      process.stdout.write(`removed ${model.id} (${formatBytes(model.sizeBytes)} freed)\n`);
    });

  models
    .command('recommend')
    .description('the largest model that fits this machine')
    .addOption(new Option('--kind <kind>', 'kind of model').choices(KINDS).default('llm'))
    .option('--json', 'machine-readable output')
    .action(async (options: { kind?: string; json?: boolean }) => {
      const kind = options.kind as CatalogEntry['kind'];
      const hardware = await detectHardware();
      const preference = parseQuantizationPreference(process.env.LOCAL_QUANTIZATION);
      const pick = recommend(store().catalog, machineBudgetOf(hardware), { kind, preference });
      if (options.json) {
        return printJson({
          hardware,
          recommendation: pick && {
            id: pick.variant.entry.id,
            quantisation: pick.variant.quantisation,
            sizeBytes: pick.variant.sizeBytes,
            neededBytes: pick.neededBytes,
            freeBytes: pick.freeBytes,
            runsOn: pick.runsOn,
            tokensPerSecond: pick.tokensPerSecond,
          },
        });
      }
      const where = hardware.backend === 'cpu' ? 'CPU' : `${hardware.backend} (${hardware.gpuDevices.join(', ')})`;
      process.stdout.write(`${where}, ${formatBytes(hardware.ram.freeBytes)} RAM free\n${hardware.explanation}\n`);
      if (!pick) {
        process.stdout.write(`no ${kind} model in the catalog fits this machine's free memory and speed\n`);
        process.exitCode = 1;
        return;
      }
      const { variant } = pick;
      process.stdout.write(
        `${variant.entry.id} (${variant.quantisation}, ${formatBytes(variant.sizeBytes)}) needs about ${formatBytes(pick.neededBytes)} of ${formatBytes(pick.freeBytes)} free ${pick.runsOn === 'gpu' ? 'VRAM' : 'RAM'}` +
          `${pick.tokensPerSecond === undefined ? '' : `, about ${Math.round(pick.tokensPerSecond)} tokens/s on ${hardware.cpu.cores} CPU cores`}\n` +
          `pull it with: switchboard models pull ${variant.entry.id}\n`,
      );
    });
  return models;
}
