import type { ChatRequest, ChatStreamEvent } from '../contract/chat.ts';
import type { WireCall, WireChunk, WireProtocol } from '../providers/types.ts';
import type { Operation } from './types.ts';

/** A chat as a routed operation: the request sent to each candidate with its own model id. */
export function chatOperation(request: ChatRequest): Operation<ChatStreamEvent> {
  return {
    kind: 'chat',
    invoke: (candidate, ctx) => candidate.adapter.chat({ ...request, model: candidate.model }, ctx),
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
 * request. Both run the same pipeline, so fallback between them happens before the first byte as usual.
 */
export function relayOperation(request: ChatRequest, wire: WireRequest): Operation<ChatStreamEvent | WireChunk> {
  const chat = chatOperation(request);
  return {
    kind: 'chat',
    invoke: (candidate, ctx) => {
      const relay = candidate.adapter.relay;
      return relay?.protocol === wire.protocol
        ? relay.send({ ...wire, model: candidate.model }, ctx)
        : chat.invoke(candidate, ctx);
    },
    usageOf: (item) => (item.type === 'wire' ? item.usage : chat.usageOf!(item)),
  };
}
