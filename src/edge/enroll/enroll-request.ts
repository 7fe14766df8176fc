import { DrawbridgeError } from '../../errors/drawbridge-error.ts';

/** What a connector sends to ENROLL_PATH. `token` is a secret: never log it. */
export interface EnrollRequest {
  token: string;
  csr: string;
  name: string | null;
  hostname: string | null;
  version: string | null;
}

/** What the edge answers on success (201): the shared contract. */
export type { EnrollAnswer as EnrollResponse } from '../../tunnel/enrollment.ts';

const MAX_TOKEN = 256;
const MAX_CSR = 16 * 1024;
const MAX_NAME = 100;
const MAX_HOSTNAME = 253;
const MAX_VERSION = 64;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Parses and bounds the JSON body; every failure is DB-ENROLL-REQUEST-INVALID naming the field. */
export function parseEnrollRequest(body: Buffer): EnrollRequest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('body: not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('body: expected a JSON object');
  const o = json as Record<string, unknown>;
  return {
    token: requiredString(o, 'token', MAX_TOKEN),
    csr: requiredString(o, 'csr', MAX_CSR, true),
    name: optionalString(o, 'name', MAX_NAME),
    hostname: optionalString(o, 'hostname', MAX_HOSTNAME),
    version: optionalString(o, 'version', MAX_VERSION),
  };
}

function requiredString(o: Record<string, unknown>, field: string, max: number, multiline = false): string {
  const value = o[field];
  if (typeof value !== 'string' || value.trim() === '') throw invalid(`${field}: required string`);
  if (value.length > max) throw invalid(`${field}: at most ${max} characters`);
  if (!multiline && CONTROL_CHARS.test(value)) throw invalid(`${field}: no control characters`);
  return value;
}

function optionalString(o: Record<string, unknown>, field: string, max: number): string | null {
  const value = o[field];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw invalid(`${field}: expected a string`);
  const trimmed = value.trim();
  if (trimmed.length > max || CONTROL_CHARS.test(trimmed))
    throw invalid(`${field}: 1–${max} characters, no control characters`);
  return trimmed === '' ? null : trimmed;
}

function invalid(detail: string): DrawbridgeError {
  return new DrawbridgeError('DB-ENROLL-REQUEST-INVALID', detail);
}
