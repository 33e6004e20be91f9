import type { ChatResult, ChatStreamEvent, FinishReason, ToolCall, Usage } from '../contract/chat.ts';
import { SwitchboardError } from '../contract/errors.ts';

/** A non-streaming chat is the collected stream: text joined, tool-call deltas assembled by index. */
export async function collectChat(stream: AsyncIterable<ChatStreamEvent>): Promise<ChatResult> {
  let text = '';
  const calls = new Map<number, ToolCall>();
  let finish: { reason: FinishReason; usage?: Usage; model?: string } | undefined;
  for await (const event of stream) {
    if (event.type === 'text') {
      text += event.text;
    } else if (event.type === 'tool_call') {
      const call = calls.get(event.index) ?? { id: '', type: 'function', function: { name: '', arguments: '' } };
      if (event.id) call.id = event.id;
      if (event.name) call.function.name = event.name;
      call.function.arguments += event.argumentsDelta;
      calls.set(event.index, call);
    } else {
      finish = event;
    }
  }
  if (!finish) {
    throw new SwitchboardError('STREAM_INTERRUPTED', 'the chat stream ended without a finish event: try again');
  }
  return {
    text,
    toolCalls: [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call),
    finishReason: finish.reason,
    usage: finish.usage ?? { inputTokens: 0, outputTokens: 0, estimated: true },
    model: finish.model ?? '',
  };
}
