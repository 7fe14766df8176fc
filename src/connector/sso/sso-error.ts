import type { ErrorCode } from '../../errors/catalogue.ts';

/**
 * A single sign-on failure with its catalogue code. `message` is the short, safe detail shown on the error page;
 * `log` holds what the administrator needs in the connector log (step, KDC error, hint, user, SPN).
 */
export class SsoError extends Error {
  readonly code: ErrorCode;
  readonly log: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; log?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SsoError';
    this.code = code;
    this.log = options.log ?? {};
  }
}
