import type { EngineConfig, EngineProvider } from '../config/types.ts';
import { SwitchboardError } from '../contract/errors.ts';

/**
 * What a request carries, for consent: chat text follows the cloud fallback switch; meeting audio and
 * meeting text (transcripts sent for summaries, map-reduce chunks, action items) go to the cloud only
 * when the user allowed cloud processing for meetings, or answered yes for this one job.
 */
export type DataKind = 'chat' | 'meeting_audio' | 'meeting_text';

export interface ConsentRequest {
  /** Absent: chat. */
  dataKind?: DataKind;
  /** The user allowed the cloud for this one job (the app's question, answered yes). */
  cloudConsent?: boolean;
}

/** The settings that allow meeting data to leave the machine, as an error message names them. */
export const MEETINGS_CLOUD_SETTING =
  '"Cloud processing for meetings" in Settings (meetings_cloud: true in providers.yaml, MEETINGS_CLOUD=true)';

const WHAT: Record<Exclude<DataKind, 'chat'>, { data: string; local: string }> = {
  meeting_audio: { data: 'meeting audio', local: 'Local Whisper could not transcribe it' },
  meeting_text: { data: 'meeting text', local: 'The local model could not summarize it' },
};

/** Whether the user's consent lets this request's data reach this provider. */
export function consentAllows(config: EngineConfig, provider: EngineProvider, request: ConsentRequest): boolean {
  const kind = request.dataKind ?? 'chat';
  return provider.onMachine || kind === 'chat' || config.meetingsCloud || request.cloudConsent === true;
}

/** The error for data that only a provider the user has not consented to could take. */
export function consentRequired(
  provider: Pick<EngineProvider, 'id' | 'label'>,
  request: ConsentRequest,
  localReason?: string,
): SwitchboardError {
  const what = WHAT[request.dataKind as Exclude<DataKind, 'chat'>] ?? { data: 'this data', local: 'It failed here' };
  const reason = localReason ? `${what.local} (${localReason.replace(/\.?\s*$/, '')}). ` : '';
  return new SwitchboardError(
    'CONSENT_REQUIRED',
    `${reason}${provider.label} could do it, but ${what.data} leaves this machine only when you allow it: answer yes when the app asks, or turn on ${MEETINGS_CLOUD_SETTING}`,
    { providerId: provider.id, retryable: false },
  );
}
