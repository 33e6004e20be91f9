import type { ChatStreamEvent, FinishReason, Usage } from '../../contract/chat.ts';
import type { EmbeddingResult } from '../../contract/embeddings.ts';
import type { ModelInfo } from '../../contract/models.ts';
import { Attempt, runAttempt, streamChat } from '../attempt.ts';
import { UpstreamStreamError } from '../http-errors.ts';
import type { CallContext, ChatCall, ProviderAdapter, ProviderConfig } from '../types.ts';
import { toOllamaFormat, toOllamaMessages, toOllamaTools } from './messages.ts';

/** One status line of `ollama pull`. */
export interface PullProgress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

/** The Ollama adapter also manages the server's models. */
export interface OllamaAdapter extends ProviderAdapter {
  pullModel(model: string, ctx: CallContext): AsyncIterable<PullProgress>;
  deleteModel(model: string, ctx: CallContext): Promise<void>;
}

/** Ollama's native API (/api/chat, /api/embed, /api/tags, /api/pull, /api/delete) through ollama-js. */
export function createOllamaAdapter(config: ProviderConfig): OllamaAdapter {
  // ollama-js wants the server root; a configured …/v1 (its OpenAI-compatible mount) is a common slip.
  const host = (config.baseUrl ?? 'http://127.0.0.1:11434').replace(/\/v1\/?$/, '');
  const client = async (ctx: CallContext, attempt: Attempt) => {
    const { Ollama } = await import('ollama');
    return new Ollama({
      host,
      // Ollama has no keys itself; behind an authenticating proxy or on ollama.com it takes a Bearer token.
      headers: { ...config.headers, ...(ctx.apiKey ? { Authorization: `Bearer ${ctx.apiKey}` } : {}) },
      // ollama-js gives non-streaming calls no signal and skips NDJSON lines it cannot parse; the attempt's
      // fetch supplies the signal and the check below turns a bad line into an error instead of lost text.
      fetch: async (input, init) => rejectMalformedLines(await attempt.fetch(input, init)),
    });
  };

  async function* chatEvents(call: ChatCall, ctx: CallContext, attempt: Attempt): AsyncIterable<ChatStreamEvent> {
    const ollama = await client(ctx, attempt);
    const stream = await ollama.chat({
      model: call.model,
      messages: toOllamaMessages(call.messages),
      tools: toOllamaTools(call.tools),
      format: toOllamaFormat(call.response_format),
      options: {
        temperature: call.temperature,
        top_p: call.top_p,
        num_predict: call.max_tokens,
        stop: typeof call.stop === 'string' ? [call.stop] : call.stop,
        seed: call.seed,
      },
      stream: true,
    });
    let toolIndex = 0;
    for await (const chunk of stream) {
      if (chunk.message?.content) yield { type: 'text', text: chunk.message.content };
      for (const toolCall of chunk.message?.tool_calls ?? []) {
        const index = toolIndex++;
        yield {
          type: 'tool_call',
          index,
          id: `call_${index}`,
          name: toolCall.function.name,
          argumentsDelta: JSON.stringify(toolCall.function.arguments ?? {}),
        };
      }
      if (chunk.done) {
        const usage: Usage | undefined =
          chunk.prompt_eval_count !== undefined && chunk.eval_count !== undefined
            ? { inputTokens: chunk.prompt_eval_count, outputTokens: chunk.eval_count, estimated: false }
            : undefined;
        const reason: FinishReason = toolIndex > 0 ? 'tool_calls' : chunk.done_reason === 'length' ? 'length' : 'stop';
        yield { type: 'finish', reason, usage, model: chunk.model };
        return;
      }
    }
  }

  return {
    config,
    chat: (call, ctx) => streamChat(config, call, ctx, (attempt) => chatEvents(call, ctx, attempt)),

    embed: (call, ctx) =>
      runAttempt(
        { config, ctx, operation: 'embeddings', model: call.model },
        async (attempt): Promise<EmbeddingResult> => {
          const ollama = await client(ctx, attempt);
          const response = await ollama.embed({
            model: call.model,
            input: call.input,
            dimensions: call.dimensions,
          });
          return {
            model: response.model || call.model,
            vectors: response.embeddings,
            usage: {
              inputTokens: response.prompt_eval_count ?? 0,
              estimated: response.prompt_eval_count === undefined,
            },
          };
        },
      ),

    listModels: (ctx) =>
      runAttempt({ config, ctx, operation: 'models' }, async (attempt): Promise<ModelInfo[]> => {
        const ollama = await client(ctx, attempt);
        const response = await ollama.list();
        return response.models.map((model) => ({
          id: model.name,
          providerId: config.id,
          ownedBy: 'ollama',
          contextWindow: config.contextWindows[model.name],
        }));
      }),

    async *pullModel(model, ctx) {
      const attempt = new Attempt({ config, ctx, operation: 'pull', model });
      try {
        const ollama = await client(ctx, attempt);
        for await (const progress of await ollama.pull({ model, stream: true })) {
          yield {
            status: progress.status,
            digest: progress.digest,
            total: progress.total,
            completed: progress.completed,
          };
        }
      } catch (error) {
        throw attempt.fail(error);
      } finally {
        attempt.dispose();
      }
    },

    deleteModel: (model, ctx) =>
      runAttempt({ config, ctx, operation: 'delete', model }, async (attempt) => {
        const ollama = await client(ctx, attempt);
        await ollama.delete({ model });
      }),
  };
}

/**
 * Passes an NDJSON body through unchanged, failing the stream at the first complete line that is not JSON
 * or that reports an error.
 * A trailing partial line is left to ollama-js, which reports the stream as unfinished.
 */
function rejectMalformedLines(response: Response): Response {
  if (!response.ok || !response.body || !response.headers.get('content-type')?.includes('ndjson')) return response;
  const decoder = new TextDecoder();
  let pending = '';
  const check = (line: string) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new SyntaxError(`malformed NDJSON line: ${line.slice(0, 80)}`);
    }
    // Ollama reports a failure after the stream began as {"error": "…"}; ollama-js throws it as a bare Error.
    const failure = (value as { error?: unknown } | null)?.error;
    if (typeof failure === 'string') throw new UpstreamStreamError(failure);
  };
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        pending += decoder.decode(chunk, { stream: true });
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        lines.forEach(check);
        controller.enqueue(chunk);
      },
    }),
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
