/**
 * Admin API tokens: one per administrator and purpose, with a role, a tenant scope (one tenant, or null for all) and
 * an expiry. The text `dba_<atk_ id>.<secret>` is shown once; only the SHA-256 of the secret is stored. Both stores
 * implement `AdminTokenRepo` with these helpers; `store/contract.ts` pins the behaviour.
 */
import { randomBytes } from 'node:crypto';
import { DrawbridgeError } from '../errors/drawbridge-error.ts';
import type { CellReaders } from './rows.ts';

export const ADMIN_ROLES = [
  'global-admin',
  'tenant-admin',
  'app-admin',
  'security-reader',
  'connector-operator',
] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

export interface AdminToken {
  id: string;
  /** Who the token belongs to (free text: a UPN, an e-mail, a pipeline's name). */
  administrator: string;
  role: AdminRole;
  /** The one tenant it may act in; null: every tenant. */
  tenantId: string | null;
  /** App admin only: the apps it administers (ids). */
  appIds: string[];
  expiresAt: string;
  createdAt: string;
  /** The actor that created it ("bootstrap" or another token's actor text). */
  createdBy: string;
  revokedAt: string | null;
}

export interface NewAdminToken {
  administrator: string;
  role: AdminRole;
  tenantId: string | null;
  appIds?: string[];
  expiresAt: string;
  createdBy: string;
}

export interface AdminTokenRepo {
  /** Returns the row and the token text, which is shown once. Unknown tenant → DB-ADMIN-NOT-FOUND. */
  create(input: NewAdminToken): Promise<{ token: string; row: AdminToken }>;
  /** The row whose secret the text proves (revoked and expired rows too: the caller says why it refuses), else null. */
  verify(token: string): Promise<AdminToken | null>;
  get(id: string): Promise<AdminToken | null>;
  /** Newest first; a tenant id lists only that tenant's tokens, undefined lists every token. */
  list(tenantId?: string): Promise<AdminToken[]>;
  /** Marks it revoked (idempotent: the first time stays). Unknown → DB-ADMIN-NOT-FOUND. */
  revoke(id: string, at: Date): Promise<AdminToken>;
}

const TOKEN_TEXT = /^dba_(atk_[0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

export const newAdminSecret = (): string => randomBytes(32).toString('base64url');
export const formatAdminToken = (id: string, secret: string): string => `dba_${id}.${secret}`;

export function parseAdminToken(token: unknown): { id: string; secret: string } | null {
  const match = typeof token === 'string' ? TOKEN_TEXT.exec(token) : null;
  return match ? { id: match[1], secret: match[2] } : null;
}

export function checkNewAdminToken(input: NewAdminToken): void {
  if (!(ADMIN_ROLES as readonly string[]).includes(input.role))
    throw new DrawbridgeError('DB-ADMIN-INVALID', `role: one of ${ADMIN_ROLES.join(', ')}`);
  if (!input.administrator.trim() || input.administrator.length > 256)
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'administrator: 1 to 256 characters');
  if (Number.isNaN(Date.parse(input.expiresAt))) throw new DrawbridgeError('DB-ADMIN-INVALID', 'expiresAt: not a time');
  if (input.role === 'global-admin' && input.tenantId !== null)
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'tenant: a global admin acts in every tenant (no tenant scope)');
  if ((input.role === 'tenant-admin' || input.role === 'app-admin') && input.tenantId === null)
    throw new DrawbridgeError('DB-ADMIN-INVALID', `tenant: a ${input.role} needs a tenant`);
  if (input.role === 'app-admin' && !input.appIds?.length)
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'appIds: an app admin needs at least one app');
  if (input.role !== 'app-admin' && input.appIds?.length)
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'appIds: only an app admin is scoped to apps');
}

type Row = Record<string, unknown>;

export function adminTokenFromRow(r: Row, read: CellReaders): AdminToken {
  return {
    id: r.id as string,
    administrator: r.administrator as string,
    role: r.role as AdminRole,
    tenantId: (r.tenant_id as string | null) ?? null,
    appIds:
      typeof r.app_ids === 'string' ? (JSON.parse(r.app_ids) as string[]) : ((r.app_ids as string[] | null) ?? []),
    expiresAt: read.time(r.expires_at),
    createdAt: read.time(r.created_at),
    createdBy: r.created_by as string,
    revokedAt: r.revoked_at === null || r.revoked_at === undefined ? null : read.time(r.revoked_at),
  };
}
