import type { ChatRequest, ChatStreamEvent } from '../contract/chat.ts';
import type { Operation } from './types.ts';

/** A chat as a routed operation: the request sent to each candidate with its own model id. */
export function chatOperation(request: ChatRequest): Operation<ChatStreamEvent> {
  return {
    kind: 'chat',
    invoke: (candidate, ctx) => candidate.adapter.chat({ ...request, model: candidate.model }, ctx),
    usageOf: (event) => (event.type === 'finish' ? event.usage : undefined),
  };
}
