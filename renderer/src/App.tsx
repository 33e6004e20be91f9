import { useEffect } from 'react';
import { isDesktop } from './api/client.ts';
import { useSession } from './api/session.ts';
import { Icon, type IconName } from './components/Icon.tsx';
import { LeavesIndicator } from './components/LeavesIndicator.tsx';
import { Toasts } from './components/Toasts.tsx';
import { ChatPane } from './panes/chat/ChatPane.tsx';
import { MeetingsPane } from './panes/meetings/MeetingsPane.tsx';
import { SettingsPane } from './panes/settings/SettingsPane.tsx';
import { UsagePane } from './panes/usage/UsagePane.tsx';
import { PANES, type Pane, type ThemeChoice, useUi } from './stores/ui.ts';

const NAV: Record<Pane, { label: string; icon: IconName }> = {
  chat: { label: 'Chat', icon: 'chat' },
  meetings: { label: 'Meetings', icon: 'meetings' },
  settings: { label: 'Providers & settings', icon: 'settings' },
  usage: { label: 'Usage', icon: 'usage' },
};

const NEXT_THEME: Record<ThemeChoice, ThemeChoice> = { system: 'light', light: 'dark', dark: 'system' };
const THEME_ICON: Record<ThemeChoice, IconName> = { system: 'auto', light: 'sun', dark: 'moon' };

export function App() {
  const { pane, setPane, theme, setTheme } = useUi();
  const signOut = useSession((state) => state.signOut);

  // Ctrl/Cmd+1…4 switch panes, as in most desktop apps with a sidebar.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
      const target = PANES[Number(event.key) - 1];
      if (target) {
        event.preventDefault();
        setPane(target);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [setPane]);

  return (
    <div className="app">
      <nav className="sidebar" aria-label="Sections">
        <div className="brand" aria-hidden="true">
          <span className="brand-mark">S</span>
          <span className="brand-name">Switchboard</span>
        </div>
        <ul>
          {PANES.map((name, index) => (
            <li key={name}>
              <button
                type="button"
                className={pane === name ? 'nav-item active' : 'nav-item'}
                aria-current={pane === name ? 'page' : undefined}
                aria-label={NAV[name].label}
                title={`${NAV[name].label} (Ctrl+${index + 1})`}
                onClick={() => setPane(name)}
              >
                <Icon name={NAV[name].icon} />
                <span className="nav-label">{NAV[name].label}</span>
              </button>
            </li>
          ))}
        </ul>
        <LeavesIndicator />
        <button
          type="button"
          className="nav-item theme-toggle"
          onClick={() => setTheme(NEXT_THEME[theme])}
          aria-label={`Theme: ${theme}. Switch to ${NEXT_THEME[theme]}`}
          title={`Theme: ${theme}`}
        >
          <Icon name={THEME_ICON[theme]} />
          <span className="nav-label">Theme: {theme}</span>
        </button>
        {!isDesktop && (
          <button type="button" className="nav-item" onClick={() => void signOut()} aria-label="Sign out">
            <Icon name="signout" />
            <span className="nav-label">Sign out</span>
          </button>
        )}
      </nav>
      <main className="pane" aria-label={NAV[pane].label}>
        {pane === 'chat' && <ChatPane />}
        {pane === 'meetings' && <MeetingsPane />}
        {pane === 'settings' && <SettingsPane />}
        {pane === 'usage' && <UsagePane />}
      </main>
      <Toasts />
    </div>
  );
}
