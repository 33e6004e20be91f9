import { create } from 'zustand';

export const PANES = ['chat', 'meetings', 'settings', 'usage'] as const;
export type Pane = (typeof PANES)[number];
export type ThemeChoice = 'system' | 'light' | 'dark';

const THEME_KEY = 'switchboard.theme';

function storedTheme(): ThemeChoice {
  const value = localStorage.getItem(THEME_KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

function paneFromHash(): Pane {
  const name = location.hash.replace(/^#\/?/, '');
  return (PANES as readonly string[]).includes(name) ? (name as Pane) : 'chat';
}

interface UiState {
  pane: Pane;
  theme: ThemeChoice;
  setPane(pane: Pane): void;
  setTheme(theme: ThemeChoice): void;
}

/** Which pane is open (kept in the URL hash, so reload and back work) and the theme choice. */
export const useUi = create<UiState>((set) => ({
  pane: paneFromHash(),
  theme: storedTheme(),
  setPane: (pane) => {
    if (location.hash !== `#/${pane}`) history.pushState(null, '', `#/${pane}`);
    set({ pane });
  },
  setTheme: (theme) => {
    if (theme === 'system') localStorage.removeItem(THEME_KEY);
    else localStorage.setItem(THEME_KEY, theme);
    set({ theme });
  },
}));

window.addEventListener('popstate', () => useUi.setState({ pane: paneFromHash() }));
