import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { establishSession } from './api/session.ts';
import { ThemeRoot } from './components/ThemeRoot.tsx';
import './styles.css';

const root = createRoot(document.getElementById('root')!);

const session = await establishSession();
root.render(
  <StrictMode>
    <ThemeRoot>
      {session.ok ? (
        <App />
      ) : (
        <main className="signin-failed" role="alert">
          <h1>Switchboard</h1>
          <p>{session.message}</p>
        </main>
      )}
    </ThemeRoot>
  </StrictMode>,
);
