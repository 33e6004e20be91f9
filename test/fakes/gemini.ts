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
  startFake,
} from './http-fake.ts';

/** The Gemini API (generativelanguage.googleapis.com, /v1 and /v1beta) as @google/genai calls it. */

export const GEMINI_MODELS = ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-embedding-001'];
export const FAKE_GEMINI_KEY = 'AIzaFakeGemini00000000000000000';

const GOOGLE_ERRORS: Record<ErrorKind, [number, string, string]> = {
  // Google answers a wrong key with 400 INVALID_ARGUMENT, not 401; 401 means bad OAuth credentials.
  'bad-key': [400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.'],
  unauthorized: [
    401,
    'UNAUTHENTICATED',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
  ],
  forbidden: [403, 'PERMISSION_DENIED', 'Permission denied: Consumer has been suspended.'],
  'unknown-model': [404, 'NOT_FOUND', ''],
  'rate-limit': [
    429,
    'RESOURCE_EXHAUSTED',
    'You exceeded your current quota, please check your plan and billing details.',
  ],
  quota: [429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for this project: check your plan and billing details.'],
  'content-filter': [400, 'INVALID_ARGUMENT', 'The prompt was blocked by the safety system: content policy.'],
  'server-error': [
    500,
    'INTERNAL',
    'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  ],
  unavailable: [503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'],
  'context-too-long': [
    400,
    'INVALID_ARGUMENT',
    'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).',
  ],
  'bad-request': [400, 'INVALID_ARGUMENT', 'Invalid argument.'],
  'no-route': [404, 'NOT_FOUND', 'Not found.'],
};

export const geminiDialect: Dialect = {
  credential: (request) => request.headers['x-goog-api-key'] ?? request.query.key,
  // Google sends the wait as RetryInfo in the body, not as a header.
  retryAfterHeader: false,
  streamError: {
    data: { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } },
  },
  error(kind, info) {
    const [code, status, text] = GOOGLE_ERRORS[kind];
    const message =
      info.message ??
      (kind === 'unknown-model'
        ? `models/${info.model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`
        : text);
    const details: unknown[] = [];
    if (kind === 'bad-key') {
      details.push({
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'API_KEY_INVALID',
        domain: 'googleapis.com',
      });
    }
    if (kind === 'rate-limit') {
      details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${info.retryAfterSeconds}s` });
    }
    return { status: code, body: { error: { code, message, status, ...(details.length ? { details } : {}) } } };
  },
};

interface GenerateBody {
  contents?: unknown;
  systemInstruction?: unknown;
  tools?: { functionDeclarations?: unknown[] }[];
}

function generate(request: RecordedRequest, model: string, fake: FakeState, stream: boolean): Reply {
  const body = request.body as GenerateBody;
  const offersTools = body.tools?.some((tool) => tool.functionDeclarations?.length);
  const toolCalls = offersTools ? fake.options.toolCalls : undefined;
  const tokens = fake.tokens();
  const promptTokenCount = countWords([body.systemInstruction, body.contents]);
  const candidatesTokenCount = toolCalls ? toolCalls.length * 10 : tokens.length;
  const usageMetadata = fake.options.usage
    ? { promptTokenCount, candidatesTokenCount, totalTokenCount: promptTokenCount + candidatesTokenCount }
    : undefined;
  const answer = (parts: unknown[], finishReason?: string) => ({
    candidates: [{ content: { parts, role: 'model' }, index: 0, ...(finishReason ? { finishReason } : {}) }],
    modelVersion: model,
    responseId: `resp-${request.index}`,
  });
  const callParts = toolCalls?.map((call) => ({ functionCall: { name: call.name, args: JSON.parse(call.arguments) } }));

  if (!stream) {
    return { type: 'json', body: { ...answer(callParts ?? [{ text: fake.options.text }], 'STOP'), usageMetadata } };
  }
  const frames = callParts
    ? [{ data: { ...answer(callParts, 'STOP'), usageMetadata } }]
    : tokens.map((text, i) => {
        const last = i === tokens.length - 1;
        return { data: { ...answer([{ text }], last ? 'STOP' : undefined), ...(last ? { usageMetadata } : {}) } };
      });
  return { type: 'stream', format: 'sse', frames };
}

function embedValues(request: RecordedRequest): number[][] {
  const body = request.body as {
    content?: { parts: { text: string }[] };
    outputDimensionality?: number;
    requests?: { content: { parts: { text: string }[] }; outputDimensionality?: number }[];
  };
  const items = body.requests ?? [{ content: body.content!, outputDimensionality: body.outputDimensionality }];
  return items.map((item) =>
    fakeEmbedding(item.content.parts.map((part) => part.text).join(''), item.outputDimensionality),
  );
}

export function startFakeGemini(options: FakeOptions = {}): Promise<FakeServer> {
  const modelRoute = (
    method: string,
    answer: (request: RecordedRequest, model: string, fake: FakeState) => Reply,
  ): Route => ({
    method: 'POST',
    path: new RegExp(`^/v1(?:beta)?/models/([^/:]+):${method}$`),
    dialect: geminiDialect,
    describe: (_request, match) => ({
      model: decodeURIComponent(match[1]!),
      stream: method === 'streamGenerateContent',
    }),
    handle: (request, _match, fake) =>
      request.model && fake.options.models.includes(request.model)
        ? answer(request, request.model, fake)
        : { type: 'error', kind: 'unknown-model', model: request.model },
  });
  return startFake(
    [
      modelRoute('generateContent', (request, model, fake) => generate(request, model, fake, false)),
      modelRoute('streamGenerateContent', (request, model, fake) => generate(request, model, fake, true)),
      modelRoute('embedContent', (request) => ({
        type: 'json',
        body: { embedding: { values: embedValues(request)[0] } },
      })),
      modelRoute('batchEmbedContents', (request) => ({
        type: 'json',
        body: { embeddings: embedValues(request).map((values) => ({ values })) },
      })),
      {
        method: 'GET',
        path: /^\/v1(?:beta)?\/models$/,
        dialect: geminiDialect,
        handle: (_request, _match, fake) => ({
          type: 'json',
          body: {
            models: fake.options.models.map((id) => ({
              name: `models/${id}`,
              displayName: id,
              inputTokenLimit: id.includes('embedding') ? 2048 : 1_048_576,
              outputTokenLimit: 65_536,
              supportedGenerationMethods: id.includes('embedding')
                ? ['embedContent', 'countTextTokens']
                : ['generateContent', 'countTokens'],
            })),
          },
        }),
      },
    ],
    { apiKey: FAKE_GEMINI_KEY, ...options },
    GEMINI_MODELS,
  );
}
