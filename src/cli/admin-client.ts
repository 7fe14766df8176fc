/** A thin client for the admin REST API: JSON in, JSON out, catalogue errors as `AdminApiError`. */

export interface ApiErrorBody {
  code: string;
  title: string;
  message: string;
  detail?: string;
  correlationId?: string;
}

export class AdminApiError extends Error {
  readonly status: number;
  readonly body: ApiErrorBody;

  constructor(status: number, body: ApiErrorBody) {
    super(`${body.code}: ${body.title}${body.detail ? ` (${body.detail})` : ''}`);
    this.name = 'AdminApiError';
    this.status = status;
    this.body = body;
  }
}

/** The admin API could not be reached at all (refused, DNS, TLS, timeout). */
export class AdminUnreachableError extends Error {
  constructor(url: string, options: { cause: unknown }) {
    const cause = options.cause as { cause?: { code?: string; message?: string }; message?: string };
    super(
      `cannot reach the admin API at ${url} (${cause.cause?.code ?? cause.cause?.message ?? cause.message ?? 'unknown error'})`,
      options,
    );
    this.name = 'AdminUnreachableError';
  }
}

export interface AdminClientOptions {
  baseUrl: string;
  token: string;
  timeoutMs?: number;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export class AdminClient {
  readonly #base: string;
  readonly #token: string;
  readonly #timeoutMs: number;

  constructor(options: AdminClientOptions) {
    this.#base = `${options.baseUrl.replace(/\/+$/, '')}/api/v1`;
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** `path` is relative to /api/v1; segments the caller interpolates must be encoded with `seg()`. */
  async request<T = unknown>(method: Method, path: string, body?: unknown): Promise<T> {
    const url = `${this.#base}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.#token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new AdminUnreachableError(this.#base, { cause: err });
    }
    const text = await res.text();
    const parsed: unknown = text ? safeJson(text) : undefined;
    if (!res.ok) {
      const error = (parsed as { error?: ApiErrorBody } | undefined)?.error;
      throw new AdminApiError(
        res.status,
        error ?? { code: `HTTP-${res.status}`, title: res.statusText || 'request failed', message: text.slice(0, 200) },
      );
    }
    return parsed as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Encodes one path segment (ids and names come from the command line). */
export const seg = (value: string): string => encodeURIComponent(value);
