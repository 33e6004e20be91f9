import {
  countWords,
  type Dialect,
  type ErrorKind,
  type FakeOptions,
  type FakeServer,
  type FakeState,
  type RecordedRequest,
  type Reply,
  type StreamFrame,
  splitArguments,
  startFake,
} from './http-fake.ts';

/** Anthropic's Messages API: /v1/messages (JSON or SSE with named events) and /v1/models. */

export const ANTHROPIC_MODELS = ['claude-sonnet-4-5', 'claude-haiku-4-5'];
export const FAKE_ANTHROPIC_KEY = 'sk-ant-fake-0000000000000000';

const ANTHROPIC_ERRORS: Record<ErrorKind, [number, string, string]> = {
  'bad-key': [401, 'authentication_error', 'invalid x-api-key'],
  unauthorized: [401, 'authentication_error', 'invalid x-api-key'],
  forbidden: [403, 'permission_error', 'Your API key does not have permission to use the specified resource.'],
  'unknown-model': [404, 'not_found_error', 'model: '],
  'rate-limit': [429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'],
  quota: [402, 'billing_error', 'Your credit balance is too low to access the Anthropic API.'],
  'content-filter': [400, 'invalid_request_error', 'Output blocked by content filtering policy'],
  'server-error': [500, 'api_error', 'Internal server error'],
  unavailable: [503, 'overloaded_error', 'Overloaded'],
  'context-too-long': [400, 'invalid_request_error', 'prompt is too long: 212345 tokens > 200000 maximum'],
  'bad-request': [400, 'invalid_request_error', 'invalid request'],
  'no-route': [404, 'not_found_error', 'Not found'],
};

export const anthropicDialect: Dialect = {
  // SDK 1.x sends the key as a Bearer token (API version 2026-10-21); older clients use x-api-key.
  credential: (request) => request.headers['x-api-key'] ?? request.headers.authorization?.replace(/^Bearer\s+/i, ''),
  retryAfterHeader: true,
  streamError: { event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } },
  error(kind, info) {
    const [status, type, text] = ANTHROPIC_ERRORS[kind];
    const message = info.message ?? (kind === 'unknown-model' ? `${text}${info.model}` : text);
    return {
      status,
      body: { type: 'error', error: { type, message }, request_id: 'req_fake' },
      headers: { 'request-id': 'req_fake' },
    };
  },
};

function messages(request: RecordedRequest, fake: FakeState): Reply {
  const body = request.body as {
    model: string;
    stream?: boolean;
    tools?: unknown[];
    messages?: unknown;
    system?: unknown;
  };
  const model = body.model;
  const id = `msg_${request.index}`;
  const toolCalls = body.tools?.length ? fake.options.toolCalls : undefined;
  const tokens = fake.tokens();
  const inputTokens = countWords([body.system, body.messages]);
  const outputTokens = toolCalls ? toolCalls.length * 10 : tokens.length;
  const stopReason = toolCalls ? 'tool_use' : 'end_turn';
  const usage = fake.options.usage ? { input_tokens: inputTokens, output_tokens: outputTokens } : undefined;

  if (!body.stream) {
    const content = toolCalls
      ? toolCalls.map((call, i) => ({
          type: 'tool_use',
          id: `toolu_${i}`,
          name: call.name,
          input: JSON.parse(call.arguments),
        }))
      : [{ type: 'text', text: fake.options.text }];
    return {
      type: 'json',
      body: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content,
        stop_reason: stopReason,
        stop_sequence: null,
        usage,
      },
    };
  }
  const event = (type: string, data: Record<string, unknown>): StreamFrame => ({
    event: type,
    data: { type, ...data },
  });
  const frames: StreamFrame[] = [
    event('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usage ? { input_tokens: inputTokens, output_tokens: 1 } : undefined,
      },
    }),
  ];
  if (toolCalls) {
    toolCalls.forEach((call, index) => {
      frames.push(
        event('content_block_start', {
          index,
          content_block: { type: 'tool_use', id: `toolu_${index}`, name: call.name, input: {} },
        }),
      );
      for (const piece of splitArguments(call.arguments)) {
        frames.push(event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } }));
      }
      frames.push(event('content_block_stop', { index }));
    });
  } else {
    frames.push(event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
    frames.push(event('ping', {}));
    for (const text of tokens)
      frames.push(event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }));
    frames.push(event('content_block_stop', { index: 0 }));
  }
  frames.push(
    event('message_delta', {
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: usage ? { output_tokens: outputTokens } : undefined,
    }),
  );
  frames.push(event('message_stop', {}));
  return { type: 'stream', format: 'sse', frames };
}

export function startFakeAnthropic(options: FakeOptions = {}): Promise<FakeServer> {
  return startFake(
    [
      {
        method: 'POST',
        path: /^\/v1\/messages$/,
        dialect: anthropicDialect,
        describe: (request) => {
          const body = request.body as { model?: string; stream?: boolean } | undefined;
          return { model: body?.model, stream: body?.stream === true };
        },
        handle: (request, _match, fake) =>
          request.model && fake.options.models.includes(request.model)
            ? messages(request, fake)
            : { type: 'error', kind: 'unknown-model', model: request.model },
      },
      {
        method: 'GET',
        path: /^\/v1\/models$/,
        dialect: anthropicDialect,
        handle: (_request, _match, fake) => ({
          type: 'json',
          body: {
            data: fake.options.models.map((id) => ({
              type: 'model',
              id,
              display_name: id,
              created_at: '2025-01-01T00:00:00Z',
            })),
            has_more: false,
            first_id: fake.options.models[0] ?? null,
            last_id: fake.options.models.at(-1) ?? null,
          },
        }),
      },
    ],
    { apiKey: FAKE_ANTHROPIC_KEY, ...options },
    ANTHROPIC_MODELS,
  );
}
