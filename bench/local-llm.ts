/**
 * Local LLM overhead: stories260K through the local provider adapter (engine → adapter → llama
 * runtime → model pool → node-llama-cpp) against node-llama-cpp's LlamaChat called directly, in the
 * same process, on the same llama.cpp instance and thread count, with the same greedy request.
 * Rounds alternate which side goes first so background load falls on both.
 *
 *   npx node bench/local-llm.ts [--rounds N] [--tokens N]
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type ChatHistoryItem, LlamaChat } from 'node-llama-cpp';
import { createLocalAdapter } from '../electron/engine/providers/local/local-adapter.ts';
import type { ProviderConfig } from '../electron/engine/providers/types.ts';
import { getLlamaHost } from '../native/gpu/llama-host.ts';
import { createLlamaRuntime } from '../native/llama/llama-runtime.ts';

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
  return { ttftMs: first - start, tokens, totalMs: performance.now() - start };
}

// Through the engine's adapter interface.
const config = {
  id: 'local',
  kind: 'local',
  vendor: 'local',
  label: 'This machine',
  keys: [],
  models: [],
  capabilities: ['chat'],
  priority: 0,
  weight: 1,
  enabled: true,
  limits: { onLimit: 'queue', maxQueueMs: 0 },
  retry: { attempts: 1, backoffFactor: 0 },
  timeoutMs: 60_000,
  firstTokenTimeoutMs: 60_000,
  prices: {},
  headers: {},
  contextWindows: {},
  healthCheckIntervalMs: 0,
} satisfies ProviderConfig;
const runtime = createLlamaRuntime({
  modelsDir: mkdtempSync(join(os.tmpdir(), 'bench-models-')),
  host,
  contextSize: CONTEXT_SIZE,
});
const adapter = createLocalAdapter(config, { llm: runtime });
async function viaAdapter(): Promise<Sample> {
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
  return { ttftMs: first - start, tokens, totalMs: performance.now() - start };
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
  ttftMs: median(list.map((s) => s.ttftMs)),
  tokPerS: median(list.map(decodeRate)),
  tokens: median(list.map((s) => s.tokens)),
});
const d = summary(samples.direct);
const a = summary(samples.adapter);
const status = await host.status();
const row = (name: string, s: ReturnType<typeof summary>) =>
  `| ${name} | ${s.tokens} | ${s.ttftMs.toFixed(2)} | ${s.tokPerS.toFixed(0)} |`;

console.log(
  `machine: ${os.cpus()[0]?.model} (nproc ${os.availableParallelism()}), ${status.backend}, ${host.threads} llama.cpp thread(s), load average ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(
  `date: ${new Date().toISOString()}; node ${process.version}; ${ROUNDS} rounds after one warm-up each, medians; greedy, ${MAX_TOKENS} max tokens, context ${CONTEXT_SIZE}`,
);
console.log('');
console.log('| path | output tokens | time to first token (ms) | decode tokens/s |');
console.log('|---|---|---|---|');
console.log(row('node-llama-cpp LlamaChat, direct', d));
console.log(row('local adapter (ProviderAdapter.chat)', a));
console.log('');
console.log(
  `ratio adapter/direct: tokens/s ${(a.tokPerS / d.tokPerS).toFixed(3)}×, time to first token ${(a.ttftMs / d.ttftMs).toFixed(2)}× (+${(a.ttftMs - d.ttftMs).toFixed(2)} ms)`,
);

await adapter.close?.();
await directModel.dispose();
