/**
 * Rows → the interface's records, once for both implementations. Only how a driver hands back a cell differs:
 * SQLite gives 0/1, ISO text and JSON text; PostgreSQL gives booleans, Dates and parsed jsonb. Each implementation
 * passes its `CellReaders`.
 */
import type { App, AuditEvent, Connector, ConnectorGroup, EnrollmentToken, PreAuth, Tenant } from './types.ts';
import { parseStoredSso } from './validate.ts';

type Row = Record<string, unknown>;

export interface CellReaders {
  bool(v: unknown): boolean;
  /** A timestamp as the ISO text the interface uses. */
  time(v: unknown): string;
  /** A JSON column as JSON text (or null), for readers that re-check what they parse. */
  jsonText(v: unknown): string | null;
  /** A JSON object column. */
  object(v: unknown): Record<string, unknown>;
}

const str = (v: unknown): string => v as string;
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));

export function appFromRow(r: Row, read: CellReaders): App {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    name: str(r.name),
    externalUrl: str(r.external_url),
    externalHost: str(r.external_host),
    internalUrl: str(r.internal_url),
    groupId: str(r.group_id),
    preAuth: str(r.pre_auth) as PreAuth,
    backendTimeout: Number(r.backend_timeout),
    tlsVerify: read.bool(r.tls_verify),
    backendCa: strOrNull(r.backend_ca),
    retryWrites: read.bool(r.retry_writes),
    // The shared reader re-checks it: a damaged value reads as none.
    sso: parseStoredSso(read.jsonText(r.sso)),
    enabled: read.bool(r.enabled),
    createdAt: read.time(r.created_at),
    updatedAt: read.time(r.updated_at),
  };
}

export function connectorFromRow(r: Row, read: CellReaders): Connector {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    groupId: str(r.group_id),
    name: str(r.name),
    enabled: read.bool(r.enabled),
    certSerial: str(r.cert_serial),
    certNotAfter: read.time(r.cert_not_after),
    previousCertSerial: strOrNull(r.previous_cert_serial),
    version: strOrNull(r.version),
    hostname: strOrNull(r.hostname),
    lastSeenAt: timeOrNull(r.last_seen_at, read),
    lastAddress: strOrNull(r.last_address),
    createdAt: read.time(r.created_at),
  };
}

export function groupFromRow(r: Row, read: CellReaders): ConnectorGroup {
  return { id: str(r.id), tenantId: str(r.tenant_id), name: str(r.name), createdAt: read.time(r.created_at) };
}

export function tenantFromRow(r: Row, read: CellReaders): Tenant {
  return { id: str(r.tenant_id), name: str(r.name), displayName: str(r.display_name), createdAt: read.time(r.created_at) };
}

export function tokenFromRow(r: Row, read: CellReaders): EnrollmentToken {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    groupId: str(r.group_id),
    expiresAt: read.time(r.expires_at),
    usedAt: timeOrNull(r.used_at, read),
    connectorId: strOrNull(r.connector_id),
    createdAt: read.time(r.created_at),
  };
}

export function auditFromRow(r: Row, read: CellReaders): AuditEvent {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    time: read.time(r.time),
    actor: str(r.actor),
    action: str(r.action),
    target: strOrNull(r.target),
    detail: read.object(r.detail),
  };
}

function timeOrNull(v: unknown, read: CellReaders): string | null {
  return v === null || v === undefined ? null : read.time(v);
}
