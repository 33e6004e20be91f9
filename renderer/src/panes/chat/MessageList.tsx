import { memo, useEffect, useRef, useState } from 'react';
import type { ChatMessageView, RouteView } from '#contract/api.ts';
import { CopyButton } from '../../components/CopyButton.tsx';
import { ErrorNote } from '../../components/ErrorNote.tsx';
import { fromSerialized, type ShownError } from '../../lib/errors.ts';
import { formatCost, formatLatency } from '../../lib/format.ts';
import { useChat, useIsStreaming } from '../../stores/chat.ts';
import { useSettings } from '../../stores/settings.ts';
import { Markdown, StreamingMarkdown } from './Markdown.tsx';

function FallbackNote({ depth, label }: { depth: number; label: string }) {
  if (depth <= 0) return null;
  return (
    <div className="fallback-note" role="note">
      Answered by a fallback: {label} stepped in after {depth === 1 ? 'the preferred provider' : `${depth} providers`}{' '}
      could not answer.
    </div>
  );
}

/** Why an answer is incomplete: a stop the user asked for is a quiet note, a failure an alert. */
function AnswerError({ error }: { error: ShownError }) {
  if (error.code === 'CANCELLED') return <p className="muted small">Stopped.</p>;
  return <ErrorNote error={error} />;
}

/** Provider and model that answered, with tokens, cost and latency where the engine reported them. */
function AnswerFacts({ message, providerLabel }: { message: ChatMessageView; providerLabel: string }) {
  const facts: string[] = [];
  if (message.model) facts.push(message.model);
  if (message.onMachine !== undefined) facts.push(message.onMachine ? 'on this machine' : 'cloud');
  if (message.inputTokens !== undefined || message.outputTokens !== undefined) {
    facts.push(`${message.inputTokens ?? 0} in / ${message.outputTokens ?? 0} out tokens`);
  }
  if (message.costUsd !== undefined) facts.push(formatCost(message.costUsd));
  if (message.latencyMs !== undefined) facts.push(formatLatency(message.latencyMs));
  return (
    <div className="answer-facts muted small">
      <span className="provider-badge">{providerLabel}</span>
      {facts.map((fact) => (
        <span key={fact}>{fact}</span>
      ))}
    </div>
  );
}

/** Your message, with Copy and Edit; editing sends the changed message again (Esc cancels). */
const UserMessage = memo(function UserMessage({ message }: { message: ChatMessageView }) {
  const edit = useChat((state) => state.edit);
  const streaming = useIsStreaming();
  const [draft, setDraft] = useState<string | null>(null);
  if (draft !== null) {
    const save = () => {
      const content = draft.trim();
      setDraft(null);
      if (content && content !== message.content) void edit(message.id, content);
    };
    return (
      <article className="message user editing" aria-label="You">
        <textarea
          className="edit-message"
          aria-label="Edit your message"
          value={draft}
          rows={Math.min(10, draft.split('\n').length + 1)}
          // biome-ignore lint/a11y/noAutofocus: the user just asked to edit this message
          autoFocus
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === 'Escape') {
              event.stopPropagation();
              setDraft(null);
            }
            if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
              event.preventDefault();
              save();
            }
          }}
        />
        <div className="message-actions">
          <button type="button" className="small primary" onClick={save} disabled={!draft.trim()}>
            Save and send
          </button>
          <button type="button" className="small ghost" onClick={() => setDraft(null)}>
            Cancel
          </button>
        </div>
      </article>
    );
  }
  return (
    <article className="message user" aria-label="You">
      <div className="message-body plain">{message.content}</div>
      <div className="message-actions">
        <CopyButton label="Copy message" text={message.content} />
        {!message.id.startsWith('draft-') && (
          <button
            type="button"
            className="ghost small"
            disabled={streaming}
            aria-label="Edit message"
            onClick={() => setDraft(message.content)}
          >
            Edit
          </button>
        )}
      </div>
    </article>
  );
});

const AnswerMessage = memo(function AnswerMessage({
  message,
  route,
  last,
}: {
  message: ChatMessageView;
  route: RouteView | undefined;
  last: boolean;
}) {
  const regenerate = useChat((state) => state.regenerate);
  const streaming = useIsStreaming();
  const providers = useSettings((state) => state.providers);
  const providerLabel =
    route?.providerLabel ??
    providers.find((p) => p.id === message.providerId)?.label ??
    message.providerId ??
    'unknown';
  // An empty answer with no error: Switchboard stopped (closed, crashed) while it was being written.
  const lost = !message.error && message.content === '' && !message.providerId;
  return (
    <article className="message assistant" aria-label="Answer">
      {message.providerId && <FallbackNote depth={message.fallbackDepth ?? 0} label={providerLabel} />}
      <div className="message-body">
        <Markdown text={message.content} />
      </div>
      {message.error && <AnswerError error={fromSerialized(message.error)} />}
      {lost && <p className="muted small">No answer was saved: Switchboard stopped while writing it.</p>}
      {message.providerId && <AnswerFacts message={message} providerLabel={providerLabel} />}
      <div className="message-actions">
        {message.content && <CopyButton label="Copy answer" text={message.content} />}
        {last && !message.id.startsWith('unsaved-') && (
          <button
            type="button"
            className="ghost small"
            disabled={streaming}
            onClick={() => void regenerate(message.id)}
          >
            Regenerate
          </button>
        )}
      </div>
    </article>
  );
});

/** The answer being written: the only part of the list that changes as words arrive. */
function PendingAnswer() {
  const pending = useChat((state) => state.pending);
  if (!pending) return null;
  const { route, text, error } = pending;
  return (
    <article className="message assistant pending" aria-label="Answer" aria-busy={error === null}>
      {route && <FallbackNote depth={route.fallbackDepth} label={route.providerLabel} />}
      <div className="message-body">
        {text ? <StreamingMarkdown text={text} /> : error === null && <span className="typing">Thinking…</span>}
      </div>
      {error && <AnswerError error={error} />}
      {route && (
        <div className="answer-facts muted small">
          <span className="provider-badge">{route.providerLabel}</span>
          <span>{route.model}</span>
          <span>{route.onMachine ? 'on this machine' : 'cloud'}</span>
        </div>
      )}
    </article>
  );
}

export function MessageList() {
  const messages = useChat((state) => state.messages);
  const routes = useChat((state) => state.routes);
  const answering = useChat((state) => state.pending !== null);
  const list = useRef<HTMLDivElement>(null);
  const content = useRef<HTMLDivElement>(null);
  const following = useRef(true);

  // Follow the answer as it grows, unless the user scrolled up to read.
  useEffect(() => {
    const inner = content.current;
    if (!inner) return;
    const observer = new ResizeObserver(() => {
      if (following.current) list.current?.scrollTo({ top: list.current.scrollHeight });
    });
    observer.observe(inner);
    return () => observer.disconnect();
  }, []);

  const lastIndex = messages.length - 1;
  return (
    <div
      ref={list}
      className="message-list"
      role="log"
      aria-live="polite"
      aria-label="Messages"
      onScroll={(event) => {
        const box = event.currentTarget;
        following.current = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
      }}
    >
      <div ref={content} className="message-column">
        {messages.map((message, index) =>
          message.role === 'user' ? (
            <UserMessage key={message.id} message={message} />
          ) : (
            <AnswerMessage
              key={message.id}
              message={message}
              route={routes[message.id]}
              last={index === lastIndex && !answering}
            />
          ),
        )}
        <PendingAnswer />
      </div>
    </div>
  );
}
