import { useEffect, useRef, useState } from 'react';

/**
 * A text edited in place: Enter or leaving the field commits a changed, non-empty value; Escape puts
 * the stored one back.
 */
export function InlineEdit({
  value,
  label,
  className,
  maxLength,
  onCommit,
}: {
  value: string;
  label: string;
  className: string;
  maxLength: number;
  onCommit: (value: string) => void;
}) {
  const [text, setText] = useState(value);
  // Leaving the field commits; Escape leaves it too, so it marks the edit cancelled first (state set in
  // the same event would not be seen by the blur that follows).
  const cancelled = useRef(false);
  useEffect(() => setText(value), [value]);
  const commit = () => {
    const trimmed = text.trim();
    if (!cancelled.current && trimmed && trimmed !== value) onCommit(trimmed);
    else setText(value);
    cancelled.current = false;
  };
  return (
    <input
      className={className}
      aria-label={label}
      value={text}
      maxLength={maxLength}
      onChange={(event) => setText(event.target.value)}
      onBlur={commit}
      onKeyDown={(event) => {
        if (event.key === 'Enter') event.currentTarget.blur();
        if (event.key === 'Escape') {
          cancelled.current = true;
          event.currentTarget.blur();
        }
      }}
    />
  );
}
