/**
 * How the console reaches the admin API: in process, through Fastify's `inject`, so every console action runs the
 * API's whole request path — its authentication hook, validation, audit, errors with codes — exactly as a REST
 * client's request would. The console never touches the store for anything it shows or changes.
 *
 * `credentialFor(administrator)` is the one place that decides with what authority a console request reaches the API:
 * the bootstrap token for a bootstrap session; for a directory administrator a short-lived admin API token minted for
 * their role, tenant and apps (console/credentials.ts). The API's authorisation then applies to every console action
 * unchanged, its 403 codes show on the page like any other API error, and the audit log names the administrator.
 * The console also keeps a directory administrator inside their own tenant (the tenant in every API path comes from
 * their session, never from the browser: `scopedPath`).
 */
import type { FastifyInstance } from 'fastify';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { AdminRole } from '../../store/admin-tokens.ts';

/** Who is signed in to the console. */
export interface Administrator {
  /** `directory`: a member of one of the tenant's console groups (ROLE_GROUPS), signed in through the sign-in host. */
  kind: 'directory' | 'bootstrap';
  /** The UPN, or `bootstrap admin`. */
  name: string;
  /** The tenant they administer; null: every tenant (the bootstrap token). */
  tenantId: string | null;
  userId: string | null;
  /** The role it acts with: global admin for the bootstrap token; a directory administrator's from their groups. */
  role: AdminRole;
  /** App admin: the apps (app_…) it administers. */
  appIds: readonly string[];
}

export interface ApiAnswer<T = unknown> {
  status: number;
  ok: boolean;
  body: T;
  /** The raw body (CSV exports). */
  text: string;
  headers: Record<string, string | string[] | number | undefined>;
  /** For a failure: the catalogue code and detail the API answered with. */
  error: { code: string; title: string; detail: string | null; correlationId: string | null } | null;
}

/** The `Authorization` header value a console request carries for this administrator. */
export type CredentialFor = (administrator: Administrator) => string | Promise<string>;

export interface AdminClient {
  call<T = unknown>(
    administrator: Administrator,
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<ApiAnswer<T>>;
}

/** `/tenants/<id>/…` for the administrator's tenant: a directory administrator can name no other. */
export function scopedPath(administrator: Administrator, tenantId: string, rest: string): string {
  if (administrator.tenantId !== null && administrator.tenantId !== tenantId) {
    throw new DrawbridgeError('DB-CONSOLE-NOT-ADMIN', `${administrator.name} administers another tenant`);
  }
  return `/tenants/${encodeURIComponent(tenantId)}${rest}`;
}

export function createAdminClient(api: FastifyInstance, credentialFor: CredentialFor, prefix = '/api/v1'): AdminClient {
  return {
    async call<T>(
      administrator: Administrator,
      method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
      path: string,
      body?: unknown,
    ): Promise<ApiAnswer<T>> {
      const res = await api.inject({
        method,
        url: `${prefix}${path}`,
        headers: {
          authorization: await credentialFor(administrator),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      const text = res.body;
      let parsed: unknown = undefined;
      if (text && String(res.headers['content-type'] ?? '').includes('json')) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
      }
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      const err = !ok && parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null;
      const inner = (err?.error && typeof err.error === 'object' ? err.error : err) as Record<string, unknown> | null;
      return {
        status: res.statusCode,
        ok,
        body: parsed as T,
        text,
        headers: res.headers,
        error: ok
          ? null
          : {
              code: String(inner?.code ?? `HTTP ${res.statusCode}`),
              title: String(inner?.title ?? inner?.message ?? 'The request failed'),
              detail: inner?.detail === undefined || inner.detail === null ? null : String(inner.detail),
              correlationId:
                res.headers['x-correlation-id'] === undefined ? null : String(res.headers['x-correlation-id']),
            },
      };
    },
  };
}
