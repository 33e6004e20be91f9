import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { useSession } from './api/session.ts';
import { ThemeRoot } from './components/ThemeRoot.tsx';
import { SignIn } from './SignIn.tsx';
import './styles.css';

/** The app once signed in; the sign-in page (and nothing else) until then. */
function Root() {
  const status = useSession((state) => state.status);
  if (status === 'checking') return null;
  return status === 'signed-in' ? <App /> : <SignIn />;
}

void useSession.getState().start();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ThemeRoot>
      <Root />
    </ThemeRoot>
  </StrictMode>,
);
