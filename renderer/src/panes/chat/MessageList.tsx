import { useLayoutEffect, useRef } from 'react';
import type { ChatMessageView, RouteView } from '../../../../electron/engine/contract/api.ts';
import { ErrorNote } from '../../components/ErrorNote.tsx';
import { fromSerialized, type ShownError } from '../../lib/errors.ts';
import { formatCost, formatLatency } from '../../lib/format.ts';
import { type PendingAnswer, useChat, useIsStreaming } from '../../stores/chat.ts';
import { useSettings } from '../../stores/settings.ts';
import { Markdown } from './Markdown.tsx';

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

function SavedMessage({
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
  if (message.role === 'user') {
    return (
      <article className="message user" aria-label="You">
        <div className="message-body plain">{message.content}</div>
      </article>
    );
  }
  const providerLabel =
    route?.providerLabel ??
    providers.find((p) => p.id === message.providerId)?.label ??
    message.providerId ??
    'unknown';
  return (
    <article className="message assistant" aria-label="Answer">
      {message.providerId && <FallbackNote depth={message.fallbackDepth ?? 0} label={providerLabel} />}
      <div className="message-body">
        <Markdown text={message.content} />
      </div>
      {message.error && <AnswerError error={fromSerialized(message.error)} />}
      {message.providerId && <AnswerFacts message={message} providerLabel={providerLabel} />}
      {last && !message.id.startsWith('unsaved-') && (
        <button type="button" className="ghost small" disabled={streaming} onClick={() => void regenerate(message.id)}>
          Regenerate
        </button>
      )}
    </article>
  );
}

function PendingMessage({ pending }: { pending: PendingAnswer }) {
  const { route, text, error } = pending;
  return (
    <article className="message assistant pending" aria-label="Answer" aria-busy={error === null}>
      {route && <FallbackNote depth={route.fallbackDepth} label={route.providerLabel} />}
      <div className="message-body">
        {text ? <Markdown text={text} /> : error === null && <span className="typing">Thinking…</span>}
      </div>
      {error && <AnswerError error={error} />}
      {route && (
        <div className="answer-facts muted small">
          <span className="provider-badge">{route.providerLabel}</span>
          <span>{route.model}</span>
        </div>
      )}
    </article>
  );
}

export function MessageList() {
  const { messages, pending, routes } = useChat();
  const end = useRef<HTMLDivElement>(null);
  const following = useRef(true);

  // Follow the answer as it streams, unless the user scrolled up to read: runs after every render.
  useLayoutEffect(() => {
    if (following.current) end.current?.scrollIntoView({ block: 'end' });
  });

  return (
    <div
      className="message-list"
      role="log"
      aria-live="polite"
      aria-label="Messages"
      onScroll={(event) => {
        const list = event.currentTarget;
        following.current = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
      }}
    >
      {messages.map((message, index) => (
        <SavedMessage
          key={message.id}
          message={message}
          route={routes[message.id]}
          last={index === messages.length - 1 && message.role === 'assistant' && pending === null}
        />
      ))}
      {pending && <PendingMessage pending={pending} />}
      <div ref={end} />
    </div>
  );
}
