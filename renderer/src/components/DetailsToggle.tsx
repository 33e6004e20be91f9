import { type ReactNode, useId, useState } from 'react';

/**
 * "Details": the technical side of a message (a code, a setting's name, a file) for a bug report or
 * a curious reader, hidden until asked for; the sentence before it is for everyone.
 */
export function DetailsToggle({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const id = useId();
  return (
    <>
      <button
        type="button"
        className="link small details-toggle"
        aria-expanded={open}
        aria-controls={id}
        onClick={() => setOpen(!open)}
      >
        {open ? 'Hide details' : 'Details'}
      </button>
      {open && (
        <div id={id} className="details-text small">
          {children}
        </div>
      )}
    </>
  );
}
