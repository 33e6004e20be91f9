import { useEffect } from 'react';
import type { MayLeave } from '#contract/api.ts';
import { useSettings } from '../stores/settings.ts';
import { useUi } from '../stores/ui.ts';

const SAYS: Record<MayLeave, string> = {
  nothing: 'Nothing',
  chat: 'Chat only',
  chat_and_meetings: 'Chat and meetings',
};

/** Always in the sidebar: what can leave this machine right now, by the user's switches. Opens them. */
export function LeavesIndicator() {
  const mayLeave = useSettings((state) => state.settings?.mayLeave);
  const load = useSettings((state) => state.load);
  const setPane = useUi((state) => state.setPane);
  useEffect(() => {
    void load();
  }, [load]);
  if (!mayLeave) return null;
  // Named apart from the sections it sits among (its state is its description), so "Chat" names one button.
  return (
    <button
      type="button"
      className={`nav-item leaves leaves-${mayLeave}`}
      onClick={() => setPane('settings')}
      title="What can leave this machine now. Opens the switches."
      aria-label="What can leave this machine"
      aria-describedby="leaves-state"
    >
      <span className="leaves-dot" aria-hidden="true" />
      <span className="nav-label" id="leaves-state">
        Leaves this machine: <strong>{SAYS[mayLeave]}</strong>
      </span>
    </button>
  );
}
