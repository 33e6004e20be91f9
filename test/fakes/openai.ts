import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  countWords,
  type Dialect,
  type FakeOptions,
  type FakeServer,
  type FakeState,
  fakeEmbedding,
  type RecordedRequest,
  type Reply,
  type Route,
  type StreamFrame,
  splitArguments,
  startFake,
} from './http-fake.ts';

/** The OpenAI REST API (and Azure OpenAI's deployment routes), as the official SDK sees it. */

export const OPENAI_MODELS = ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small', 'whisper-1', 'omni-moderation-latest'];

const OPENAI_ERRORS = {
  'bad-key': [401, 'invalid_request_error', 'invalid_api_key'],
  unauthorized: [401, 'invalid_request_error', 'invalid_api_key'],
  forbidden: [403, 'invalid_request_error', 'model_not_allowed'],
  'unknown-model': [404, 'invalid_request_error', 'model_not_found'],
  'rate-limit': [429, 'requests', 'rate_limit_exceeded'],
  quota: [429, 'insufficient_quota', 'insufficient_quota'],
  'content-filter': [400, 'invalid_request_error', 'content_policy_violation'],
  'server-error': [500, 'server_error', null],
  unavailable: [503, 'server_error', null],
  'context-too-long': [400, 'invalid_request_error', 'context_length_exceeded'],
  'bad-request': [400, 'invalid_request_error', null],
  'no-route': [404, 'invalid_request_error', null],
} as const;

export const openAIDialect: Dialect = {
  credential: (request) => request.headers.authorization?.replace(/^Bearer\s+/i, ''),
  retryAfterHeader: true,
  streamError: {
    data: {
      error: {
        message: 'The server had an error while processing your request. Sorry about that!',
        type: 'server_error',
        param: null,
        code: null,
      },
    },
  },
  error(kind, info) {
    const [status, type, code] = OPENAI_ERRORS[kind];
    const messages: Partial<Record<typeof kind, string>> = {
      // OpenAI echoes the key it received; the fake echoes all of it, the worst case for redaction.
      'bad-key': `Incorrect API key provided: ${info.key ?? '(none)'}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      unauthorized:
        'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
      forbidden: 'You are not allowed to use this model with this API key.',
      'unknown-model': `The model \`${info.model}\` does not exist or you do not have access to it.`,
      'rate-limit': `Rate limit reached for requests. Please try again in ${info.retryAfterSeconds}s.`,
      quota: 'You exceeded your current quota, please check your plan and billing details.',
      'content-filter': 'Your request was rejected as a result of our safety system.',
      'server-error': 'The server had an error while processing your request. Sorry about that!',
      unavailable: 'The engine is currently overloaded, please try again later.',
      'context-too-long':
        "This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens. Please reduce the length of the messages.",
    };
    return {
      status,
      body: { error: { message: info.message ?? messages[kind] ?? 'Invalid request', type, param: null, code } },
      headers: { 'x-request-id': `req_${Date.now()}` },
    };
  },
};

/** Azure spells errors differently and carries the key in `api-key`. */
export const azureDialect: Dialect = {
  credential: (request) => request.headers['api-key'],
  retryAfterHeader: true,
  get streamError() {
    return openAIDialect.streamError;
  },
  error(kind, info) {
    if (kind === 'bad-key' || kind === 'unauthorized') {
      return {
        status: 401,
        body: {
          error: {
            code: '401',
            message:
              'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
          },
        },
      };
    }
    if (kind === 'content-filter') {
      return {
        status: 400,
        body: {
          error: {
            code: 'content_filter',
            message:
              "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.",
          },
        },
      };
    }
    if (kind === 'unknown-model') {
      return {
        status: 404,
        body: {
          error: {
            code: 'DeploymentNotFound',
            message: `The API deployment ${info.model} for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.`,
          },
        },
      };
    }
    return openAIDialect.error(kind, info);
  },
};

function chatCompletion(request: RecordedRequest, model: string, fake: FakeState): Reply {
  const body = request.body as {
    messages?: unknown;
    stream?: boolean;
    tools?: unknown[];
    stream_options?: { include_usage?: boolean };
  };
  const id = `chatcmpl-${request.index}`;
  const created = Math.floor(Date.now() / 1000);
  const tokens = fake.tokens();
  const toolCalls = body.tools?.length ? fake.options.toolCalls : undefined;
  const promptTokens = countWords(body.messages);
  const completionTokens = toolCalls ? toolCalls.length * 10 : tokens.length;
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
  const finishReason = toolCalls ? 'tool_calls' : 'stop';
  const calls = toolCalls?.map((call, i) => ({ id: `call_${request.index}_${i}`, type: 'function', function: call }));

  if (!body.stream) {
    return {
      type: 'json',
      body: {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: toolCalls ? null : fake.options.text,
              refusal: null,
              tool_calls: calls,
            },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        usage: fake.options.usage ? usage : undefined,
      },
    };
  }
  const chunk = (delta: unknown, finish: string | null = null) => ({
    data: {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    },
  });
  const frames: StreamFrame[] = [chunk({ role: 'assistant', content: '' })];
  if (calls) {
    calls.forEach((call, index) => {
      frames.push(
        chunk({
          tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }],
        }),
      );
      for (const piece of splitArguments(call.function.arguments)) {
        frames.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
      }
    });
  } else {
    for (const token of tokens) frames.push(chunk({ content: token }));
  }
  frames.push(chunk({}, finishReason));
  if (fake.options.usage && body.stream_options?.include_usage) {
    frames.push({ data: { id, object: 'chat.completion.chunk', created, model, choices: [], usage } });
  }
  frames.push({ data: '[DONE]' });
  return { type: 'stream', format: 'sse', frames };
}

function embeddings(request: RecordedRequest, model: string): Reply {
  const body = request.body as { input: string | string[]; dimensions?: number; encoding_format?: string };
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const data = inputs.map((text, index) => {
    const vector = fakeEmbedding(text, body.dimensions);
    const embedding =
      body.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    return { object: 'embedding', index, embedding };
  });
  const tokens = countWords(inputs);
  return {
    type: 'json',
    body: { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } },
  };
}

function transcription(request: RecordedRequest, model: string, fake: FakeState): Reply {
  const { fields, files } = request.body as { fields: Record<string, string>; files: { bytes: number }[] };
  const bytes = files[0]?.bytes ?? 0;
  // 16 kHz 16-bit mono: the shape of the test clips; a duration is all the fake needs.
  const duration = Math.round((bytes / 32_000) * 100) / 100;
  const sentences = fake.options.text.match(/[^.!?]+[.!?]*\s*/g) ?? [fake.options.text];
  const step = duration / sentences.length;
  const segments = sentences.map((text, id) => ({
    id,
    seek: 0,
    start: Math.round(id * step * 100) / 100,
    end: Math.round((id + 1) * step * 100) / 100,
    text: ` ${text.trim()}`,
    tokens: [],
    temperature: 0,
    avg_logprob: -0.2,
    compression_ratio: 1.2,
    no_speech_prob: 0.01,
  }));
  const text = fake.options.text;
  if (fields.response_format !== 'verbose_json') return { type: 'json', body: { text } };
  return {
    type: 'json',
    body: { task: 'transcribe', language: fields.language ?? 'english', duration, text, segments, model },
  };
}

function knownModel(fake: FakeState, model: string | undefined): model is string {
  return model !== undefined && fake.options.models.includes(model);
}

const bodyModel = (request: RecordedRequest) => {
  const body = request.body as { model?: string; stream?: boolean; fields?: { model?: string } } | undefined;
  return { model: body?.model ?? body?.fields?.model, stream: body?.stream === true };
};

/** The /v1 routes; the Ollama fake mounts them too, as Ollama serves the same API there. */
export function openAIRoutes(dialect: Dialect = openAIDialect): Route[] {
  const modelRoute = (
    path: RegExp,
    answer: (request: RecordedRequest, model: string, fake: FakeState) => Reply,
  ): Route => ({
    method: 'POST',
    path,
    dialect,
    describe: bodyModel,
    handle: (request, _match, fake) =>
      knownModel(fake, request.model)
        ? answer(request, request.model, fake)
        : { type: 'error', kind: 'unknown-model', model: request.model },
  });
  return [
    modelRoute(/^\/v1\/chat\/completions$/, chatCompletion),
    modelRoute(/^\/v1\/embeddings$/, embeddings),
    modelRoute(/^\/v1\/audio\/transcriptions$/, transcription),
    {
      method: 'POST',
      path: /^\/v1\/moderations$/,
      dialect,
      handle: (request) => {
        const input = String((request.body as { input?: unknown }).input ?? '');
        const violent = /\b(kill|attack)\b/i.test(input);
        return {
          type: 'json',
          body: {
            id: `modr-${request.index}`,
            model: 'omni-moderation-latest',
            results: [
              {
                flagged: violent,
                categories: { violence: violent, harassment: false, hate: false, 'self-harm': false, sexual: false },
                category_scores: {
                  violence: violent ? 0.97 : 0.001,
                  harassment: 0.001,
                  hate: 0.001,
                  'self-harm': 0.001,
                  sexual: 0.001,
                },
              },
            ],
          },
        };
      },
    },
    {
      method: 'GET',
      path: /^\/v1\/models$/,
      dialect,
      handle: (_request, _match, fake) => ({
        type: 'json',
        body: {
          object: 'list',
          data: fake.options.models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' })),
        },
      }),
    },
  ];
}

/** Azure OpenAI: /openai/deployments/{deployment}/…?api-version=…, where deployments are the fake's models. */
function azureRoutes(): Route[] {
  const deploymentRoute = (
    operation: string,
    answer: (request: RecordedRequest, model: string, fake: FakeState) => Reply,
  ): Route => ({
    method: 'POST',
    path: new RegExp(`^/openai/deployments/([^/]+)/${operation}$`),
    dialect: azureDialect,
    describe: (request, match) => ({ ...bodyModel(request), model: decodeURIComponent(match[1]!) }),
    handle: (request, _match, fake) => {
      if (!request.query['api-version'])
        return { type: 'error', kind: 'bad-request', message: 'Missing required query parameter: api-version' };
      return knownModel(fake, request.model)
        ? answer(request, request.model, fake)
        : { type: 'error', kind: 'unknown-model', model: request.model };
    },
  });
  return [
    deploymentRoute('chat/completions', chatCompletion),
    deploymentRoute('embeddings', embeddings),
    deploymentRoute('audio/transcriptions', transcription),
    {
      method: 'GET',
      path: /^\/openai\/models$/,
      dialect: azureDialect,
      handle: (_request, _match, fake) => ({
        type: 'json',
        body: {
          object: 'list',
          data: fake.options.models.map((id) => ({ id, object: 'model', created_at: 1_700_000_000 })),
        },
      }),
    },
  ];
}

export const FAKE_OPENAI_KEY = 'sk-fake-openai-0000000000000000';

/** An OpenAI-compatible server: `${url}/v1` for the OpenAI API, `${url}` as an Azure endpoint. */
export function startFakeOpenAI(options: FakeOptions = {}): Promise<FakeServer> {
  return startFake([...openAIRoutes(), ...azureRoutes()], { apiKey: FAKE_OPENAI_KEY, ...options }, OPENAI_MODELS);
}

/** An upstream whose chat streams are floods (startFloodingOpenAI). */
export interface FloodingUpstream {
  url: string;
  /** Bytes of stream written to the connection so far (what it took; the rest waits for a drain). */
  written(): number;
  close(): Promise<void>;
}

/**
 * An OpenAI-compatible upstream whose every chat stream is a flood: chat.completion.chunk frames carrying
 * `frameBytes` of content each, written as fast as the connection takes them (waiting for a drain when it
 * takes no more), `totalBytes` in all, then the usage chunk and `[DONE]`. A reader down the line that
 * stops reading shows up here as a flood held back.
 */
export async function startFloodingOpenAI(options: {
  frameBytes: number;
  totalBytes: number;
}): Promise<FloodingUpstream> {
  let written = 0;
  const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-flood', object: 'chat.completion.chunk', created: 0, model: 'gpt-4o-mini', choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
  const frame = chunk({ content: 'x'.repeat(options.frameBytes) });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      while (written < options.totalBytes && !res.destroyed) {
        written += frame.length;
        if (!res.write(frame)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      }
      if (res.destroyed) return;
      const usage = {
        prompt_tokens: 5,
        completion_tokens: Math.ceil(written / 4),
        total_tokens: 5 + Math.ceil(written / 4),
      };
      res.end(`${chunk({}, { choices: [], usage })}data: [DONE]\n\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    written: () => written,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
