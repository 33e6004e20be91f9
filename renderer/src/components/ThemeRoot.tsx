import { type ReactNode, useEffect, useSyncExternalStore } from 'react';
import { useUi } from '../stores/ui.ts';

const darkQuery = window.matchMedia('(prefers-color-scheme: dark)');

function subscribe(onChange: () => void): () => void {
  darkQuery.addEventListener('change', onChange);
  return () => darkQuery.removeEventListener('change', onChange);
}

/** Applies the chosen theme, following the system's light/dark setting unless the user picked one. */
export function ThemeRoot({ children }: { children: ReactNode }) {
  const choice = useUi((state) => state.theme);
  const systemDark = useSyncExternalStore(subscribe, () => darkQuery.matches);
  const theme = choice === 'system' ? (systemDark ? 'dark' : 'light') : choice;
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    document.documentElement.style.colorScheme = theme;
  }, [theme]);
  return children;
}
