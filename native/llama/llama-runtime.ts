import type {
  ChatHistoryItem,
  Llama,
  LlamaChat,
  LlamaCompletion,
  LlamaContextSequence,
  LlamaGrammar,
  LlamaModel,
  Token,
} from 'node-llama-cpp';
import { nodeLlamaCpp } from '../gpu/llama-host.ts';
import { cancelledError, isAbortError, LocalModelError } from '../models/errors.ts';
import { ModelStore } from '../models/model-store.ts';
import { AsyncQueue } from './async-queue.ts';
import { toChatHistory } from './chat-history.ts';
import { type LoadSettings, ModelPool, type ModelPoolOptions, type SequenceLease } from './model-pool.ts';
import type {
  LocalChatCall,
  LocalChatEvent,
  LocalCompletionOptions,
  LocalFinishReason,
  LocalResponseFormat,
} from './types.ts';

export interface LlamaRuntimeOptions extends ModelPoolOptions {
  /** Where installed models live; used when no store is given. */
  modelsDir?: string;
  store?: ModelStore;
  pool?: ModelPool;
  /** A model's own context size and GPU layers (set in the app), read each time it is used. */
  loadSettingsOf?: (modelId: string) => LoadSettings;
}

interface GenerationHooks {
  onTextChunk: (text: string) => void;
  onToken: (tokens: Token[]) => void;
  signal: AbortSignal;
}

const GRAMMAR_CACHE_SIZE = 32;
/**
 * Characters of a prompt tokenized at one go while checking that it fits: tokenizing is synchronous
 * native work on the JS thread, so a long prompt is counted a slice at a time with the event loop free
 * in between (about a millisecond a slice).
 */
const TOKENIZE_SLICE_CHARS = 16_384;
/** Tokens one slice may count above the whole text's tokenization (a word cut at its edge, a leading space). */
const SLICE_OVERCOUNT = 2;

/**
 * Chat, completion and embeddings over installed GGUF models through node-llama-cpp (inference
 * runs on llama.cpp's own threads, never on the JS thread). Structurally a LocalLlmRuntime of the
 * engine (electron/engine/providers/local/runtime.ts).
 */
export class LlamaRuntime {
  readonly store: ModelStore;
  readonly pool: ModelPool;
  private readonly loadSettingsOf: (modelId: string) => LoadSettings;
  /**
   * One LlamaChat / LlamaCompletion per pooled sequence, made once: constructing a LlamaChat resolves
   * the model's chat template, which costs more than a short reply's first token.
   */
  private readonly chats = new WeakMap<LlamaContextSequence, LlamaChat>();
  private readonly completions = new WeakMap<LlamaContextSequence, LlamaCompletion>();
  /** Compiled grammars per llama instance (a GPU→CPU fallback has its own), by schema. */
  private readonly grammars = new WeakMap<Llama, Map<string, Promise<LlamaGrammar>>>();

  constructor(options: LlamaRuntimeOptions) {
    if (!options.store && !options.modelsDir) {
      throw new LocalModelError('INVALID_REQUEST', 'the llama runtime needs a models directory or a model store');
    }
    this.store = options.store ?? new ModelStore({ modelsDir: options.modelsDir! });
    this.pool = options.pool ?? new ModelPool(options);
    this.loadSettingsOf = options.loadSettingsOf ?? (() => ({}));
  }

  /** Installed chat models, with the context window the catalog gives for them. */
  async listModels(): Promise<{ id: string; contextWindow?: number }[]> {
    const installed = await this.store.list();
    return installed
      .filter((model) => model.kind === 'llm')
      .map((model) => {
        const entry = this.store.catalog.models.find((item) => item.id === model.catalogId);
        return entry && 'contextWindow' in entry
          ? { id: model.id, contextWindow: entry.contextWindow }
          : { id: model.id };
      });
  }

  /** A chat turn with the model's own chat template; `response_format` becomes a grammar. */
  async *chat(call: LocalChatCall, signal: AbortSignal): AsyncGenerator<LocalChatEvent> {
    if (call.tools && call.tools.length > 0) {
      throw new LocalModelError('NOT_SUPPORTED', 'local models do not take tools; send the request without tools');
    }
    const { path } = await this.store.resolveGguf(call.model);
    const lease = await this.pool.acquireSequence(path, signal, this.loadSettingsOf(call.model));
    try {
      const contextSize = lease.sequence.contextSize;
      if (await textExceeds(lease.model, call.messages, contextSize, signal)) {
        throw new LocalModelError(
          'CONTEXT_TOO_LONG',
          `the prompt is more than ${contextSize} tokens, but ${call.model} holds ${contextSize} tokens here; shorten the conversation or choose a model with a larger context`,
        );
      }
      const history = toChatHistory(call.messages);
      const chat = await this.chatOn(lease.sequence);
      const grammar = await this.grammarFor(lease.llama, call.response_format);
      // The rendered prompt, counted before anything runs: node-llama-cpp would otherwise drop the start
      // of a prompt that does not fit the context, and answer as if nothing was missing.
      const inputTokens = promptLength(chat, history, lease.model);
      const room = contextSize - inputTokens;
      if (room <= 0) {
        throw new LocalModelError(
          'CONTEXT_TOO_LONG',
          `the prompt is ${inputTokens} tokens, but ${call.model} holds ${contextSize} tokens here; shorten the conversation or choose a model with a larger context`,
        );
      }
      const stop = typeof call.stop === 'string' ? [call.stop] : call.stop;
      yield* this.stream(
        call.model,
        () => inputTokens,
        signal,
        async (hooks) => {
          const result = await chat.generateResponse(history, {
            ...hooks,
            // The answer ends where the context does (finish reason `length`), rather than shifting the prompt out.
            maxTokens: Math.min(call.max_tokens ?? room, room),
            temperature: call.temperature,
            topP: call.top_p,
            seed: call.seed,
            ...(stop && stop.length > 0 ? { customStopTriggers: stop } : {}),
            ...(grammar ? { grammar } : {}),
          });
          return result.metadata.stopReason;
        },
      );
    } finally {
      lease.release();
    }
  }

  /**
   * What a model holds as loaded here: its context in tokens, and the length of a chat prompt as its
   * own tokenizer and chat template make it. Loads the model (its weights), as a chat would.
   */
  async measure(
    model: string,
    signal: AbortSignal,
  ): Promise<{ contextTokens: number; promptTokens(messages: LocalChatCall['messages']): Promise<number> }> {
    const { path } = await this.store.resolveGguf(model);
    const withSequence = async <T>(use: (lease: SequenceLease) => T | Promise<T>): Promise<T> => {
      const lease = await this.pool.acquireSequence(path, signal, this.loadSettingsOf(model));
      try {
        return await use(lease);
      } finally {
        lease.release();
      }
    };
    return {
      contextTokens: await withSequence((lease) => lease.sequence.contextSize),
      promptTokens: (messages) =>
        withSequence(async (lease) =>
          promptLength(await this.chatOn(lease.sequence), toChatHistory(messages), lease.model),
        ),
    };
  }

  /** Plain text continuation of a prompt, for base (non-chat) models. */
  async *complete(
    model: string,
    prompt: string,
    options: LocalCompletionOptions,
    signal: AbortSignal,
  ): AsyncGenerator<LocalChatEvent> {
    const { path } = await this.store.resolveGguf(model);
    const lease = await this.pool.acquireSequence(path, signal, this.loadSettingsOf(model));
    try {
      const completion = await this.completionOn(lease.sequence);
      const inputTokens = () => lease.model.tokenize(prompt).length;
      yield* this.stream(model, inputTokens, signal, async (hooks) => {
        const result = await completion.generateCompletionWithMeta(prompt, { ...hooks, ...options });
        return result.metadata.stopReason;
      });
    } finally {
      lease.release();
    }
  }

  async embed(
    model: string,
    inputs: string[],
    signal: AbortSignal,
  ): Promise<{ vectors: number[][]; inputTokens: number }> {
    const { path } = await this.store.resolveGguf(model);
    const lease = await this.pool.acquireEmbedding(path, signal, this.loadSettingsOf(model));
    try {
      const vectors: number[][] = [];
      let inputTokens = 0;
      for (const input of inputs) {
        if (signal.aborted) throw cancelledError(signal.reason);
        inputTokens += lease.model.tokenize(input).length;
        const embedding = await lease.context.getEmbeddingFor(input);
        vectors.push([...embedding.vector]);
      }
      return { vectors, inputTokens };
    } catch (error) {
      throw asLocalError(error, signal);
    } finally {
      lease.release();
    }
  }

  private async chatOn(sequence: LlamaContextSequence): Promise<LlamaChat> {
    let chat = this.chats.get(sequence);
    if (!chat) {
      const { LlamaChat } = await nodeLlamaCpp();
      chat = new LlamaChat({ contextSequence: sequence, autoDisposeSequence: false });
      this.chats.set(sequence, chat);
    }
    return chat;
  }

  private async completionOn(sequence: LlamaContextSequence): Promise<LlamaCompletion> {
    let completion = this.completions.get(sequence);
    if (!completion) {
      const { LlamaCompletion } = await nodeLlamaCpp();
      completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
      this.completions.set(sequence, completion);
    }
    return completion;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /**
   * Runs one generation and yields its text as it comes. The generation is stopped when the caller's
   * signal fires or the caller stops reading, and always awaited before the sequence goes back to the
   * pool, so two generations never share a sequence.
   */
  private async *stream(
    model: string,
    inputTokens: () => number,
    signal: AbortSignal,
    run: (hooks: GenerationHooks) => Promise<string>,
  ): AsyncGenerator<LocalChatEvent> {
    const stopper = new AbortController();
    const chunks = new AsyncQueue<string>();
    let outputTokens = 0;
    const generation = run({
      onTextChunk: (text) => chunks.push(text),
      onToken: (tokens) => {
        outputTokens += tokens.length;
      },
      signal: AbortSignal.any([signal, stopper.signal]),
    }).then(
      (stopReason) => {
        chunks.end();
        return stopReason;
      },
      (error: unknown) => {
        chunks.fail(error);
        throw error;
      },
    );
    try {
      for await (const text of chunks) yield { type: 'text', text };
      const stopReason = await generation;
      const reason: LocalFinishReason = stopReason === 'maxTokens' ? 'length' : 'stop';
      yield { type: 'finish', reason, usage: { inputTokens: inputTokens(), outputTokens, estimated: false }, model };
    } catch (error) {
      throw asLocalError(error, signal);
    } finally {
      stopper.abort();
      await generation.catch(() => undefined);
    }
  }

  private grammarFor(llama: Llama, format: LocalResponseFormat | undefined): Promise<LlamaGrammar> | undefined {
    if (!format || format.type === 'text') return undefined;
    const schema = format.type === 'json_schema' ? format.json_schema.schema : undefined;
    const key = schema ? JSON.stringify(schema) : 'json';
    let cache = this.grammars.get(llama);
    if (!cache) {
      cache = new Map();
      this.grammars.set(llama, cache);
    }
    const grammars = cache;
    let grammar = grammars.get(key);
    if (grammar) {
      // Least recently used goes first: a hit moves to the back.
      grammars.delete(key);
      grammars.set(key, grammar);
    } else {
      grammar = (
        schema
          ? llama.createGrammarForJsonSchema(schema as Parameters<Llama['createGrammarForJsonSchema']>[0])
          : llama.getGrammarFor('json')
      ).catch((error: unknown) => {
        grammars.delete(key);
        throw new LocalModelError(
          'INVALID_REQUEST',
          `the JSON schema cannot be enforced on a local model: ${(error as Error).message}`,
          { cause: error },
        );
      });
      if (grammars.size >= GRAMMAR_CACHE_SIZE) grammars.delete(grammars.keys().next().value!);
      grammars.set(key, grammar);
    }
    return grammar;
  }
}

/**
 * Whether the messages' text alone, without the chat template (which only adds to it), takes more than
 * `limit` tokens. Counted a slice at a time, yielding between slices and stopping as soon as the limit is
 * passed: a prompt of megabytes (or of 200,000 messages) is refused in milliseconds, other requests are
 * served meanwhile, and a caller who leaves stops the count. Slices cut words, so each may count a token
 * or two more than the whole text would: only a count beyond that margin refuses; the exact count of the
 * rendered prompt (promptLength) decides the rest.
 */
async function textExceeds(
  model: LlamaModel,
  messages: LocalChatCall['messages'],
  limit: number,
  signal: AbortSignal,
): Promise<boolean> {
  // Each message takes at least a token of the template around it.
  if (messages.length > limit) return true;
  let tokens = 0;
  let slices = 0;
  for (const message of messages) {
    const parts = typeof message.content === 'string' ? [message.content] : (message.content ?? []).map(partText);
    for (const text of parts) {
      for (let at = 0; at < text.length; at += TOKENIZE_SLICE_CHARS) {
        if (slices > 0) {
          await new Promise((resolve) => setImmediate(resolve));
          if (signal.aborted) throw cancelledError(signal.reason);
        }
        tokens += model.tokenize(text.slice(at, at + TOKENIZE_SLICE_CHARS)).length;
        slices++;
        if (tokens - slices * SLICE_OVERCOUNT > limit) return true;
      }
    }
  }
  return false;
}

function partText(part: Exclude<LocalChatCall['messages'][number]['content'], string | null>[number]): string {
  return part.type === 'text' ? part.text : '';
}

/** Tokens of a chat history rendered by the model's chat template, as the model will read it. */
function promptLength(chat: LlamaChat, history: ChatHistoryItem[], model: LlamaModel): number {
  return chat.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(model.tokenizer).length;
}

function asLocalError(error: unknown, signal: AbortSignal): LocalModelError {
  if (error instanceof LocalModelError) return error;
  if (signal.aborted || isAbortError(error)) return cancelledError(error);
  return new LocalModelError('INTERNAL', `llama.cpp failed: ${(error as Error).message ?? String(error)}`, {
    cause: error,
  });
}

export function createLlamaRuntime(options: LlamaRuntimeOptions): LlamaRuntime {
  return new LlamaRuntime(options);
}
