import { catalogue, type ErrorCode } from './catalogue.ts';

/** The one error class: a catalogue code, its HTTP status, a safe message, and the cause for the logs. */
export class DrawbridgeError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra detail that is safe to show (field names, limits). Never secrets. */
  readonly detail: string | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${catalogue[code].title}: ${detail}` : catalogue[code].title, options);
    this.name = 'DrawbridgeError';
    this.code = code;
    this.status = catalogue[code].status;
    this.detail = detail;
  }
}

export function toDrawbridgeError(err: unknown): DrawbridgeError {
  if (err instanceof DrawbridgeError) return err;
  return new DrawbridgeError('DB-INTERNAL', undefined, { cause: err });
}
