import { useEffect, useState } from 'react';

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
  useEffect(() => setText(value), [value]);
  const commit = () => {
    const trimmed = text.trim();
    if (trimmed && trimmed !== value) onCommit(trimmed);
    else setText(value);
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
          setText(value);
          event.currentTarget.blur();
        }
      }}
    />
  );
}
