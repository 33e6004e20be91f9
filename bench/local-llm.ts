/**
 * Local LLM overhead: stories260K through the local provider adapter (engine → adapter → llama
 * runtime → model pool → node-llama-cpp) against node-llama-cpp's LlamaChat called directly, in the
 * same process, on the same llama.cpp instance and thread count, with the same greedy request.
 * Rounds alternate which side goes first, and ratios are taken per round (each adapter run against
 * the direct run beside it) so that load from other processes, which drifts, falls on both sides.
 * CPU time per token (this process, all threads) is reported too: it is what the adapter's own work
 * costs, and it moves far less than wall time on a busy machine.
 *
 *   npx node bench/local-llm.ts [--rounds N] [--tokens N]
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type ChatHistoryItem, LlamaChat } from 'node-llama-cpp';
import { createLocalAdapter } from '../electron/engine/providers/local/local-adapter.ts';
import { getLlamaHost } from '../native/gpu/llama-host.ts';
import { createLlamaRuntime } from '../native/llama/llama-runtime.ts';
import { providerConfig } from '../test/support/provider-config.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '7' }, tokens: { type: 'string', default: '200' } },
});
const ROUNDS = Number(values.rounds);
const MAX_TOKENS = Number(values.tokens);
const CONTEXT_SIZE = 512;
const MODEL = resolve(import.meta.dirname, '..', '..', 'shared', 'models', 'gguf', 'stories260K.gguf');
const PROMPT = 'Tell me a story about a little dog.';

interface Sample {
  ttftMs: number;
  tokens: number;
  totalMs: number;
  cpuMs: number;
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** Decode speed after the first token: tokens 2…n over the time they took. */
const decodeRate = (s: Sample) => (s.tokens - 1) / ((s.totalMs - s.ttftMs) / 1000);
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const host = getLlamaHost();
const llama = await host.llama();

// Direct: what an app would write with node-llama-cpp alone.
const directModel = await llama.loadModel({ modelPath: MODEL });
const directContext = await directModel.createContext({ contextSize: CONTEXT_SIZE, threads: host.threads });
const directChat = new LlamaChat({ contextSequence: directContext.getSequence() });
async function direct(): Promise<Sample> {
  const history: ChatHistoryItem[] = [
    { type: 'user', text: PROMPT },
    { type: 'model', response: [] },
  ];
  const cpu = process.cpuUsage();
  const start = performance.now();
  let first = 0;
  let tokens = 0;
  await directChat.generateResponse(history, {
    maxTokens: MAX_TOKENS,
    temperature: 0,
    onTextChunk: () => {
      first ||= performance.now();
    },
    onToken: (t) => {
      tokens += t.length;
    },
  });
  return { ttftMs: first - start, tokens, totalMs: performance.now() - start, cpuMs: cpuMsSince(cpu) };
}

// Through the engine's adapter interface.
const config = providerConfig({
  id: 'local',
  kind: 'local',
  vendor: 'local',
  label: 'This machine',
  capabilities: ['chat'],
  limits: { onLimit: 'queue', maxQueueMs: 0 },
  timeoutMs: 60_000,
  firstTokenTimeoutMs: 60_000,
});
const runtime = createLlamaRuntime({
  modelsDir: mkdtempSync(join(os.tmpdir(), 'bench-models-')),
  host,
  contextSize: CONTEXT_SIZE,
});
const adapter = createLocalAdapter(config, { llm: runtime });
async function viaAdapter(): Promise<Sample> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let first = 0;
  let tokens = 0;
  const signal = new AbortController().signal;
  for await (const event of adapter.chat(
    { model: MODEL, messages: [{ role: 'user', content: PROMPT }], max_tokens: MAX_TOKENS, temperature: 0 },
    { signal },
  )) {
    if (event.type === 'text') first ||= performance.now();
    else if (event.type === 'finish') tokens = event.usage?.outputTokens ?? 0;
  }
  return { ttftMs: first - start, tokens, totalMs: performance.now() - start, cpuMs: cpuMsSince(cpu) };
}

// Warm-up: loads, first evaluations, page cache.
await direct();
await viaAdapter();

const samples = { direct: [] as Sample[], adapter: [] as Sample[] };
for (let round = 0; round < ROUNDS; round++) {
  if (round % 2 === 0) {
    samples.direct.push(await direct());
    samples.adapter.push(await viaAdapter());
  } else {
    samples.adapter.push(await viaAdapter());
    samples.direct.push(await direct());
  }
}

const summary = (list: Sample[]) => ({
  tokens: median(list.map((x) => x.tokens)),
  ttftMs: median(list.map((x) => x.ttftMs)),
  tokPerS: median(list.map(decodeRate)),
  cpuMsPerToken: median(list.map((x) => x.cpuMs / x.tokens)),
});
const paired = (f: (a: Sample, d: Sample) => number) => median(samples.adapter.map((a, i) => f(a, samples.direct[i]!)));
const d = summary(samples.direct);
const a = summary(samples.adapter);
const status = await host.status();
const row = (name: string, x: ReturnType<typeof summary>) =>
  `| ${name} | ${x.tokens} | ${x.ttftMs.toFixed(2)} | ${x.tokPerS.toFixed(0)} | ${(x.cpuMsPerToken * 1000).toFixed(0)} |`;
const load = os
  .loadavg()
  .map((x) => x.toFixed(1))
  .join(' ');

console.log(
  `machine: ${os.cpus()[0]?.model} (nproc ${os.availableParallelism()}), ${status.backend}, ${host.threads} llama.cpp thread(s), load average ${load}`,
);
console.log(
  `date: ${new Date().toISOString()}; node ${process.version}; ${ROUNDS} rounds after one warm-up each, medians; greedy, ${MAX_TOKENS} max tokens, context ${CONTEXT_SIZE}`,
);
console.log('');
console.log('| path | output tokens | time to first token (ms) | decode tokens/s | CPU µs per token |');
console.log('|---|---|---|---|---|');
console.log(row('node-llama-cpp LlamaChat, direct', d));
console.log(row('local adapter (ProviderAdapter.chat)', a));
console.log('');
console.log(
  `adapter/direct, median of per-round ratios: decode tokens/s ${paired((x, y) => decodeRate(x) / decodeRate(y)).toFixed(3)}×, ` +
    `CPU time per token ${paired((x, y) => x.cpuMs / x.tokens / (y.cpuMs / y.tokens)).toFixed(3)}×, ` +
    `time to first token +${paired((x, y) => x.ttftMs - y.ttftMs).toFixed(2)} ms`,
);

await adapter.close?.();
await directModel.dispose();
