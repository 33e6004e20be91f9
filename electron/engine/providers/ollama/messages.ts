import type { Message, Tool as OllamaTool } from 'ollama';
import type { ChatMessage, ResponseFormat, Tool } from '../../contract/chat.ts';

/** OpenAI-shaped messages to Ollama's: images as bare base64, tool-call arguments as objects. */
export function toOllamaMessages(messages: readonly ChatMessage[]): Message[] {
  const toolNames = new Map<string, string>();
  return messages.map((message): Message => {
    const parts =
      typeof message.content === 'string'
        ? [{ type: 'text' as const, text: message.content }]
        : (message.content ?? []);
    const content = parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
    const images = parts.flatMap((part) =>
      part.type === 'image_url' ? [part.image_url.url.replace(/^data:[^;]+;base64,/, '')] : [],
    );
    const out: Message = { role: message.role === 'developer' ? 'system' : message.role, content };
    if (images.length > 0) out.images = images;
    if (message.tool_calls?.length) {
      out.tool_calls = message.tool_calls.map((call) => {
        toolNames.set(call.id, call.function.name);
        return { function: { name: call.function.name, arguments: parseObject(call.function.arguments) } };
      });
    }
    if (message.role === 'tool') out.tool_name = message.name ?? toolNames.get(message.tool_call_id ?? '');
    return out;
  });
}

export function toOllamaTools(tools: readonly Tool[] | undefined): OllamaTool[] | undefined {
  return tools?.map((tool) => ({ type: 'function', function: tool.function as OllamaTool['function'] }));
}

/** response_format as Ollama's `format`: "json" or a JSON schema. */
export function toOllamaFormat(format: ResponseFormat | undefined): string | object | undefined {
  if (!format || format.type === 'text') return undefined;
  return format.type === 'json_schema' ? (format.json_schema.schema ?? 'json') : 'json';
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
