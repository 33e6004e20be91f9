import type { ChatRequest, ChatStreamEvent, Usage } from '../contract/chat.ts';
import type { Operation } from './types.ts';

/** A chat as a routed operation: the request sent to each candidate with its own model id. */
export function chatOperation(request: ChatRequest): Operation<ChatStreamEvent> {
  return {
    kind: 'chat',
    invoke: (candidate, ctx) => candidate.adapter.chat({ ...request, model: candidate.model }, ctx),
    usageOf: (event) => (event.type === 'finish' ? event.usage : undefined),
  };
}

/** The text and usage of a chat stream (tool calls are not needed by the comparison helpers). */
export async function collectText(
  stream: AsyncIterable<ChatStreamEvent>,
): Promise<{ text: string; usage?: Usage; model?: string }> {
  let text = '';
  let usage: Usage | undefined;
  let model: string | undefined;
  for await (const event of stream) {
    if (event.type === 'text') text += event.text;
    else if (event.type === 'finish') {
      usage = event.usage;
      model = event.model;
    }
  }
  return { text, usage, model };
}
