import { useEffect, useState } from 'react';
import type { MeetingView } from '#contract/api.ts';
import { ConsentQuestion } from '../../components/ConsentQuestion.tsx';
import { ProvenanceNote } from '../../components/ProvenanceNote.tsx';
import { useMeetings } from '../../stores/meetings.ts';
import { useSettings } from '../../stores/settings.ts';

export function SummaryPanel({ meeting }: { meeting: MeetingView }) {
  const { summarize, summarizing, templates, loadTemplates, summaryConsent, declineSummaryConsent } = useMeetings();
  const [templateId, setTemplateId] = useState('');
  useEffect(() => {
    void loadTemplates();
  }, [loadTemplates]);
  const providers = useSettings((state) => state.providers);
  const consent = summaryConsent?.meetingId === meeting.id ? summaryConsent : null;
  const consentLabel = consent ? (providers.find((p) => p.id === consent.providerId)?.label ?? consent.providerId) : '';
  const { summary } = meeting;
  const ready = meeting.status === 'done' && meeting.segments.length > 0;
  return (
    <section className="summary" aria-label="Summary">
      <div className="section-header">
        <h2>Summary</h2>
        {templates.length > 1 && (
          <select
            className="small"
            aria-label="Summary template"
            value={templateId}
            onChange={(event) => setTemplateId(event.target.value)}
          >
            {templates.map((template) => (
              <option key={template.id} value={template.builtin ? '' : template.id}>
                {template.name}
              </option>
            ))}
          </select>
        )}
        <button
          type="button"
          className="small"
          disabled={!ready || summarizing}
          onClick={() => void summarize(meeting.id, templateId || undefined)}
        >
          {summarizing ? 'Summarizing…' : summary ? 'Summarize again' : 'Summarize'}
        </button>
      </div>
      {consent && (
        <ConsentQuestion
          question={`The local model cannot summarize this meeting. Send the transcript to ${consentLabel}?`}
          detail="Nothing has been sent. Yes sends this transcript once, for this summary."
          onAnswer={(allow) =>
            allow ? void summarize(meeting.id, templateId || undefined, true) : declineSummaryConsent()
          }
        />
      )}
      {summary ? (
        <>
          <p>{summary.summary}</p>
          <h3>Action items</h3>
          {summary.actionItems.length === 0 ? (
            <p className="muted small">None.</p>
          ) : (
            <ul>
              {summary.actionItems.map((item) => (
                <li key={`${item.owner}-${item.text}`}>
                  {item.text}
                  {item.owner && <span className="muted"> — {item.owner}</span>}
                </li>
              ))}
            </ul>
          )}
          <h3>Decisions</h3>
          {summary.decisions.length === 0 ? (
            <p className="muted small">None.</p>
          ) : (
            <ul>
              {summary.decisions.map((decision) => (
                <li key={decision}>{decision}</li>
              ))}
            </ul>
          )}
          {summary.producedBy && summary.producedBy.length > 0 ? (
            <ProvenanceNote verb="Summarized" producedBy={summary.producedBy} />
          ) : (
            <p className="muted small">Written by {summary.model}</p>
          )}
        </>
      ) : (
        <p className="muted small">
          {ready
            ? 'Summarize writes a summary, action items and decisions from the transcript.'
            : 'Available once the transcript is done.'}
        </p>
      )}
    </section>
  );
}
