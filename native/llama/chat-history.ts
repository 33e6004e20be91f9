import type { ChatHistoryItem } from 'node-llama-cpp';
import { LocalModelError } from '../models/errors.ts';
import type { LocalChatMessage } from './types.ts';

function textOf(message: LocalChatMessage): string {
  if (message.content === null) return '';
  if (typeof message.content === 'string') return message.content;
  return message.content
    .map((part) => {
      if (part.type === 'text') return part.text;
      throw new LocalModelError('NOT_SUPPORTED', 'local models read text only; this message holds an image');
    })
    .join('');
}

/**
 * OpenAI-style messages → node-llama-cpp chat history, ending in the model turn to generate (an
 * assistant message last is continued, which is how a caller prefills a reply). The model's own
 * chat template (a chat wrapper) turns the history into its prompt.
 */
export function toChatHistory(messages: LocalChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  for (const message of messages) {
    const text = textOf(message);
    switch (message.role) {
      case 'system':
      case 'developer':
        history.push({ type: 'system', text });
        break;
      case 'user':
        history.push({ type: 'user', text });
        break;
      case 'assistant':
        history.push({ type: 'model', response: [text] });
        break;
      case 'tool':
        // Local models get no tool definitions; a tool result still reads as context from the user side.
        history.push({ type: 'user', text: `Tool result${message.name ? ` (${message.name})` : ''}:\n${text}` });
        break;
    }
  }
  if (history.at(-1)?.type !== 'model') history.push({ type: 'model', response: [] });
  return history;
}
