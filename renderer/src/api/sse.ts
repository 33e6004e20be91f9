/** One Server-Sent Events message: its event name ('message' when none was given) and its data lines joined. */
export interface SseMessage {
  event: string;
  data: string;
}

/**
 * Parses a text/event-stream body as the HTML spec says: messages end at a blank line, `data:`
 * lines join with newlines, one space after the colon is dropped, `:` lines are comments, and
 * CR, LF or CRLF end a line — whatever way the network happens to split the bytes.
 */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  // stream: true holds back a multi-byte character split across chunks until its other bytes arrive.
  const decoder = new TextDecoder();
  let pending = '';
  let event = '';
  let data: string[] = [];
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      // A trailing CR may be the first half of a CRLF split across chunks: keep it until the next chunk.
      const lines = pending.split(/\r\n|\r(?!$)|\n/);
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let fieldValue = colon === -1 ? '' : line.slice(colon + 1);
        if (fieldValue.startsWith(' ')) fieldValue = fieldValue.slice(1);
        if (field === 'data') data.push(fieldValue);
        else if (field === 'event') event = fieldValue;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
