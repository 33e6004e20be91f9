import { SwitchboardError } from '../contract/errors.ts';

/** One thing wrong with the configuration: where, and what to do about it. */
export interface ConfigIssue {
  /** The file (or "environment", or "settings") the value came from. */
  source: string;
  /** Dotted path inside it, e.g. providers.groq.rate_limit.requests_per_minute. */
  path: string;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.source}${issue.path ? ` at ${issue.path}` : ''}: ${issue.message}`;
}

/** Every problem found, reported at once, so a person can fix them in one edit. */
export class ConfigError extends SwitchboardError {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(
      'CONFIG_INVALID',
      `${count} in the configuration:\n${issues.map((i) => `  - ${formatIssue(i)}`).join('\n')}`,
      {
        retryable: false,
      },
    );
    this.issues = issues;
  }
}
