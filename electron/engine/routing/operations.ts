import type { ModelOptions } from '../contract/api.ts';
import type { ChatRequest, ChatStreamEvent } from '../contract/chat.ts';
import type { WireCall, WireChunk, WireProtocol } from '../providers/types.ts';
import type { Candidate, Operation } from './types.ts';

/**
 * A request with a model's own settings where the request leaves them open: temperature, max tokens,
 * and its system prompt before a conversation that brings none.
 */
export function withModelOptions(request: ChatRequest, options: ModelOptions | undefined): ChatRequest {
  if (!options) return request;
  const hasSystem = request.messages.some((m) => m.role === 'system' || m.role === 'developer');
  return {
    ...request,
    ...(request.temperature === undefined && options.temperature !== undefined
      ? { temperature: options.temperature }
      : {}),
    ...(request.max_tokens === undefined && options.maxTokens !== undefined ? { max_tokens: options.maxTokens } : {}),
    ...(options.systemPrompt && !hasSystem
      ? { messages: [{ role: 'system' as const, content: options.systemPrompt }, ...request.messages] }
      : {}),
  };
}

/**
 * A chat as a routed operation: the request sent to each candidate with its own model id, and that
 * model's settings (`optionsOf`) where the request leaves them open.
 */
export function chatOperation(
  request: ChatRequest,
  optionsOf: (candidate: Candidate) => ModelOptions | undefined = () => undefined,
): Operation<ChatStreamEvent> {
  return {
    kind: 'chat',
    invoke: (candidate, ctx) =>
      candidate.adapter.chat({ ...withModelOptions(request, optionsOf(candidate)), model: candidate.model }, ctx),
    usageOf: (event) => (event.type === 'finish' ? event.usage : undefined),
  };
}

/** A chat as its client wrote it, in one protocol: what the pass-through path needs besides the request. */
export interface WireRequest extends Omit<WireCall, 'model'> {
  protocol: WireProtocol;
}

/**
 * A chat that arrived in a client protocol: a candidate whose adapter speaks that protocol gets the
 * client's own bytes (its relay, only routing's fields rewritten), any other candidate the translated
 * request; either way with the candidate model's own settings where the client left them open. Both run
 * the same pipeline, so fallback between them happens before the first byte as usual.
 */
export function relayOperation(
  request: ChatRequest,
  wire: WireRequest,
  optionsOf: (candidate: Candidate) => ModelOptions | undefined = () => undefined,
): Operation<ChatStreamEvent | WireChunk> {
  const chat = chatOperation(request, optionsOf);
  return {
    kind: 'chat',
    invoke: (candidate, ctx) => {
      const relay = candidate.adapter.relay;
      return relay?.protocol === wire.protocol
        ? relay.send({ ...wire, model: candidate.model, options: optionsOf(candidate) }, ctx)
        : chat.invoke(candidate, ctx);
    },
    usageOf: (item) => (item.type === 'wire' ? item.usage : chat.usageOf!(item)),
  };
}
