import { useId } from 'react';

/** An on/off control announced as a switch, with its label and what it means. */
export function Switch({
  checked,
  onChange,
  label,
  description,
  disabled,
  visibleLabel,
}: {
  checked: boolean;
  onChange: (checked: boolean) => void;
  label: string;
  description?: string;
  disabled?: boolean;
  /** Text shown beside the switch when it differs from the accessible label (a card's short "On"/"Off"). */
  visibleLabel?: string;
}) {
  const descriptionId = useId();
  return (
    <div className="switch-row">
      <button
        type="button"
        role="switch"
        aria-checked={checked}
        aria-label={label}
        aria-describedby={description ? descriptionId : undefined}
        className="switch"
        disabled={disabled}
        onClick={() => onChange(!checked)}
      >
        <span className="switch-knob" />
      </button>
      <div>
        <div className="switch-label" aria-hidden={visibleLabel ? true : undefined}>
          {visibleLabel ?? label}
        </div>
        {description && (
          <div id={descriptionId} className="muted small">
            {description}
          </div>
        )}
      </div>
    </div>
  );
}
