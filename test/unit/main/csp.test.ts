import { describe, expect, it } from 'vitest';
import { buildContentSecurityPolicy } from '../../../electron/main/csp.ts';

function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy.split(';').map((part) => {
      const [name = '', ...values] = part.trim().split(/\s+/);
      return [name, values];
    }),
  );
}

describe('buildContentSecurityPolicy', () => {
  const policy = directives(buildContentSecurityPolicy());

  it('denies by default and runs only the app’s own scripts: no inline code, no eval, no remote origin', () => {
    expect(policy.get('default-src')).toEqual(["'none'"]);
    expect(policy.get('script-src')).toEqual(["'self'"]);
    for (const values of policy.values()) {
      expect(values).not.toContain("'unsafe-eval'");
      expect(values.some((value) => value.startsWith('http') || value === '*')).toBe(false);
    }
    expect(policy.get('style-src')).not.toContain("'unsafe-inline'");
  });

  it('lets the page talk only to itself: the engine makes every outside request', () => {
    expect(policy.get('connect-src')).toEqual(["'self'"]);
  });

  it('allows microphone recordings and meeting audio, and no plugins, frames, base or form targets', () => {
    expect(policy.get('media-src')).toEqual(["'self'", 'blob:', 'mediastream:']);
    expect(policy.get('object-src')).toEqual(["'none'"]);
    expect(policy.get('frame-src')).toEqual(["'none'"]);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    expect(policy.get('base-uri')).toEqual(["'none'"]);
    expect(policy.get('form-action')).toEqual(["'none'"]);
  });

  it('while developing, admits the Vite dev server and its HMR socket, and only those', () => {
    const dev = directives(buildContentSecurityPolicy({ devServerUrl: 'http://localhost:5173/' }));
    expect(dev.get('script-src')).toEqual(["'self'", 'http://localhost:5173']);
    expect(dev.get('connect-src')).toEqual(["'self'", 'http://localhost:5173', 'ws://localhost:5173']);
    expect(dev.get('default-src')).toEqual(["'none'"]);
  });
});
