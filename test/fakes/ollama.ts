import {
  countWords,
  type Dialect,
  type ErrorKind,
  type FakeOptions,
  type FakeServer,
  type FakeState,
  fakeEmbedding,
  type RecordedRequest,
  type Reply,
  type Route,
  type StreamFrame,
  startFake,
} from './http-fake.ts';
import { openAIRoutes } from './openai.ts';

/** Ollama's native API (/api/*, NDJSON streams) plus its OpenAI-compatible /v1 routes. */

export const OLLAMA_MODELS = ['llama3.2:1b', 'nomic-embed-text:latest'];

const OLLAMA_ERRORS: Record<ErrorKind, [number, string]> = {
  'bad-key': [401, 'unauthorized'],
  unauthorized: [401, 'unauthorized'],
  forbidden: [403, 'forbidden'],
  'unknown-model': [404, ''],
  'rate-limit': [429, 'too many requests'],
  quota: [402, 'insufficient credit: upgrade your plan'],
  'content-filter': [400, 'request rejected by content policy'],
  'server-error': [500, 'llama runner process has terminated: exit status 2'],
  unavailable: [503, 'server busy, please try again.  maximum pending requests exceeded'],
  'context-too-long': [400, 'prompt too long; exceeded max context length by 1200 tokens'],
  'bad-request': [400, 'invalid request'],
  'no-route': [404, '404 page not found'],
};

/** Ollama itself has no keys; behind an authenticating proxy (or ollama.com) it takes a Bearer token. */
export const ollamaDialect: Dialect = {
  credential: (request) => request.headers.authorization?.replace(/^Bearer\s+/i, ''),
  retryAfterHeader: true,
  streamError: { data: { error: 'an error was encountered while running the model: unexpected EOF' } },
  error(kind, info) {
    const [status, text] = OLLAMA_ERRORS[kind];
    return {
      status,
      body: {
        error:
          info.message ?? (kind === 'unknown-model' ? `model "${info.model}" not found, try pulling it first` : text),
      },
    };
  },
};

const createdAt = () => new Date().toISOString();

function chat(request: RecordedRequest, model: string, fake: FakeState): Reply {
  const body = request.body as { messages?: unknown; tools?: unknown[] };
  const toolCalls = body.tools?.length ? fake.options.toolCalls : undefined;
  const tokens = fake.tokens();
  const promptEvalCount = countWords(body.messages);
  const evalCount = toolCalls ? toolCalls.length * 10 : tokens.length;
  const done = {
    model,
    created_at: createdAt(),
    message: { role: 'assistant', content: '' },
    done: true,
    done_reason: 'stop',
    total_duration: 1_200_000,
    load_duration: 100_000,
    ...(fake.options.usage
      ? {
          prompt_eval_count: promptEvalCount,
          prompt_eval_duration: 200_000,
          eval_count: evalCount,
          eval_duration: 900_000,
        }
      : {}),
  };
  const calls = toolCalls?.map((call) => ({ function: { name: call.name, arguments: JSON.parse(call.arguments) } }));
  if (!request.stream) {
    return {
      type: 'json',
      body: { ...done, message: { role: 'assistant', content: calls ? '' : fake.options.text, tool_calls: calls } },
    };
  }
  const frames: StreamFrame[] = calls
    ? [
        {
          data: {
            model,
            created_at: createdAt(),
            message: { role: 'assistant', content: '', tool_calls: calls },
            done: false,
          },
        },
      ]
    : tokens.map((content) => ({
        data: { model, created_at: createdAt(), message: { role: 'assistant', content }, done: false },
      }));
  frames.push({ data: done });
  return { type: 'stream', format: 'ndjson', frames };
}

function pull(request: RecordedRequest, fake: FakeState): Reply {
  const body = request.body as { model?: string; name?: string };
  const model = body.model ?? body.name ?? '';
  if (!fake.options.models.includes(model)) fake.options.models.push(model);
  const total = 4_000_000;
  const digest = 'sha256:6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa';
  const frames: StreamFrame[] = [
    { data: { status: 'pulling manifest' } },
    ...[1, 2, 3, 4].map((i) => ({
      data: { status: `pulling ${digest.slice(7, 19)}`, digest, total, completed: (total / 4) * i },
    })),
    { data: { status: 'verifying sha256 digest' } },
    { data: { status: 'writing manifest' } },
    { data: { status: 'success' } },
  ];
  return request.stream ? { type: 'stream', format: 'ndjson', frames } : { type: 'json', body: { status: 'success' } };
}

export function startFakeOllama(options: FakeOptions = {}): Promise<FakeServer> {
  const bodyModel = (request: RecordedRequest) => {
    const body = request.body as { model?: string; name?: string; stream?: boolean } | undefined;
    // Ollama streams unless told not to.
    return { model: body?.model ?? body?.name, stream: body?.stream !== false };
  };
  const known = (fake: FakeState, model: string | undefined): model is string =>
    model !== undefined && fake.options.models.includes(model);
  const routes: Route[] = [
    {
      method: 'POST',
      path: /^\/api\/chat$/,
      dialect: ollamaDialect,
      describe: bodyModel,
      handle: (request, _m, fake) =>
        known(fake, request.model)
          ? chat(request, request.model, fake)
          : { type: 'error', kind: 'unknown-model', model: request.model },
    },
    {
      method: 'POST',
      path: /^\/api\/embed$/,
      dialect: ollamaDialect,
      describe: (request) => ({ ...bodyModel(request), stream: false }),
      handle: (request, _m, fake) => {
        if (!known(fake, request.model)) return { type: 'error', kind: 'unknown-model', model: request.model };
        const body = request.body as { input: string | string[]; dimensions?: number };
        const inputs = Array.isArray(body.input) ? body.input : [body.input];
        return {
          type: 'json',
          body: {
            model: request.model,
            embeddings: inputs.map((text) => fakeEmbedding(text, body.dimensions)),
            total_duration: 50_000,
            load_duration: 10_000,
            prompt_eval_count: countWords(inputs),
          },
        };
      },
    },
    {
      method: 'GET',
      path: /^\/api\/tags$/,
      dialect: ollamaDialect,
      handle: (_r, _m, fake) => ({
        type: 'json',
        body: {
          models: fake.options.models.map((name) => ({
            name,
            model: name,
            modified_at: '2025-01-01T00:00:00Z',
            size: 1_321_098_329,
            digest: '6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa',
            details: {
              format: 'gguf',
              family: 'llama',
              families: ['llama'],
              parameter_size: '1.2B',
              quantization_level: 'Q8_0',
            },
          })),
        },
      }),
    },
    {
      method: 'POST',
      path: /^\/api\/pull$/,
      dialect: ollamaDialect,
      describe: bodyModel,
      handle: (request, _m, fake) => pull(request, fake),
    },
    {
      method: 'DELETE',
      path: /^\/api\/delete$/,
      dialect: ollamaDialect,
      describe: (request) => ({ ...bodyModel(request), stream: false }),
      handle: (request, _m, fake) => {
        const index = request.model === undefined ? -1 : fake.options.models.indexOf(request.model);
        if (index < 0) return { type: 'error', kind: 'unknown-model', message: `model '${request.model}' not found` };
        fake.options.models.splice(index, 1);
        return { type: 'json', body: {} };
      },
    },
    ...openAIRoutes(),
  ];
  return startFake(routes, options, OLLAMA_MODELS);
}
