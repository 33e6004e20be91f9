/**
 * The one-time question when local processing cannot do a job and a cloud provider could: nothing is
 * sent until the user says yes, and the yes is for this job only.
 */
export function ConsentQuestion({
  question,
  detail,
  onAnswer,
}: {
  question: string;
  detail?: string;
  onAnswer: (allow: boolean) => void;
}) {
  return (
    <div className="consent" role="alertdialog" aria-label="Send to the cloud?">
      <p className="consent-question">{question}</p>
      {detail && <p className="muted small">{detail}</p>}
      <div className="consent-actions">
        <button type="button" className="primary" onClick={() => onAnswer(true)}>
          Yes, send it this once
        </button>
        <button type="button" onClick={() => onAnswer(false)}>
          No, keep it on this machine
        </button>
      </div>
    </div>
  );
}
