import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { normalizeSerial } from '../../pki/serial.ts';
import { completeRenewal } from './renewal.ts';

/** Files of a connector state directory (0700; every file 0600). */
export const STATE_FILES = {
  key: 'connector.key',
  cert: 'connector.crt',
  tunnelCa: 'tunnel-ca.crt',
  registration: 'connector.json',
} as const;

/** `connector.json`: what the connector learnt at enrollment. */
export interface ConnectorRegistration {
  connectorId: string;
  tenantId: string;
  groupId: string;
  /** `https://host[:port]` the connector enrolled with and dials for tunnels. */
  edgeUrl: string;
  /** TLS server name of the tunnel endpoint (the tunnel CA's server certificate names it). */
  tunnelHost: string;
  /** Where to dial instead of resolving the edge URL's host (`host:port` or an IP); SNI stays tunnelHost. */
  connectAddress?: string;
  registeredAt: string;
}

/** Everything the supervisor needs to dial: the registration plus the PEMs, checked to belong together. */
export interface ConnectorState extends ConnectorRegistration {
  stateDir: string;
  keyPem: string;
  certPem: string;
  /** The tunnel CA to pin: the only CA the connector trusts for the tunnel. */
  tunnelCaPem: string;
  /** Lower-case hex, as the edge stores it. */
  certSerial: string;
  certNotAfter: string;
  files: { key: string; cert: string; tunnelCa: string; registration: string };
}

export const REGISTER_HINT =
  'run drawbridge connector register --edge <edge URL> --token <enrollment token> --state-dir <this directory>';
const REREGISTER_HINT =
  'ask your administrator for a new enrollment token and run drawbridge connector register --force --edge <edge URL> --token <token> --state-dir <this directory>';

function stateError(detail: string, cause?: unknown): DrawbridgeError {
  return new DrawbridgeError('DB-CONNECTOR-STATE-INVALID', detail, cause === undefined ? undefined : { cause });
}

export function statePaths(stateDir: string): ConnectorState['files'] {
  return {
    key: join(stateDir, STATE_FILES.key),
    cert: join(stateDir, STATE_FILES.cert),
    tunnelCa: join(stateDir, STATE_FILES.tunnelCa),
    registration: join(stateDir, STATE_FILES.registration),
  };
}

async function readStateFile(path: string, secret: boolean): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw stateError(`${path} not found: this connector is not registered; ${REGISTER_HINT}`, err);
    if (code === 'EACCES')
      throw stateError(`${path} is not readable by this user; run the connector as the user that registered it`, err);
    throw stateError(`${path} cannot be read (${code ?? (err as Error).message})`, err);
  }
  if (secret && process.platform !== 'win32') {
    const mode = (await stat(path)).mode & 0o777;
    if (mode & 0o077)
      throw stateError(`${path} is readable by other users (mode ${mode.toString(8)}); fix it with chmod 600 ${path}`);
  }
  return text;
}

function parseRegistration(path: string, text: string): ConnectorRegistration {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw stateError(`${path} is not valid JSON; ${REREGISTER_HINT}`, err);
  }
  const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  for (const field of ['connectorId', 'tenantId', 'groupId', 'edgeUrl', 'tunnelHost', 'registeredAt'] as const) {
    if (typeof o[field] !== 'string' || o[field] === '')
      throw stateError(`${path} lacks "${field}"; ${REREGISTER_HINT}`);
  }
  if (o.connectAddress !== undefined && typeof o.connectAddress !== 'string')
    throw stateError(`${path}: "connectAddress" must be a string`);
  const registration: ConnectorRegistration = {
    connectorId: o.connectorId as string,
    tenantId: o.tenantId as string,
    groupId: o.groupId as string,
    edgeUrl: o.edgeUrl as string,
    tunnelHost: o.tunnelHost as string,
    registeredAt: o.registeredAt as string,
  };
  if (typeof o.connectAddress === 'string') registration.connectAddress = o.connectAddress;
  return registration;
}

/**
 * Loads and checks a connector state directory: every file present and readable, the key 0600, the certificate
 * issued by the pinned tunnel CA for this connector id, matching the key, and not expired. Each failure is
 * DB-CONNECTOR-STATE-INVALID naming the file and the fix.
 */
export async function loadConnectorState(
  stateDir: string,
  now: Date = new Date(),
  options: { completeRenewal?: boolean } = {},
): Promise<ConnectorState> {
  const files = statePaths(stateDir);
  // A worker of `--workers N` leaves this to its primary: one process renames the files, never several at once.
  if (options.completeRenewal !== false) await completeRenewal(stateDir);
  const registration = parseRegistration(files.registration, await readStateFile(files.registration, true));
  const keyPem = await readStateFile(files.key, true);
  const certPem = await readStateFile(files.cert, true);
  const tunnelCaPem = await readStateFile(files.tunnelCa, true);

  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw stateError(`${files.cert} is not a PEM certificate; ${REREGISTER_HINT}`, err);
  }
  try {
    ca = new X509Certificate(tunnelCaPem);
  } catch (err) {
    throw stateError(`${files.tunnelCa} is not a PEM certificate; ${REREGISTER_HINT}`, err);
  }
  let keySpki: Buffer;
  try {
    keySpki = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  } catch (err) {
    throw stateError(`${files.key} is not a PEM private key; ${REREGISTER_HINT}`, err);
  }
  if (!keySpki.equals(cert.publicKey.export({ type: 'spki', format: 'der' }))) {
    throw stateError(
      `${files.cert} does not match ${files.key} (the key was replaced after registration); ${REREGISTER_HINT}`,
    );
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw stateError(`${files.cert} was not issued by ${files.tunnelCa}; ${REREGISTER_HINT}`);
  }
  if (cert.subject !== `CN=${registration.connectorId}`) {
    throw stateError(
      `${files.cert} names ${cert.subject}, not connector ${registration.connectorId} from ${files.registration}; ${REREGISTER_HINT}`,
    );
  }
  if (now > cert.validToDate) {
    throw stateError(`${files.cert} expired on ${cert.validToDate.toISOString()}; ${REREGISTER_HINT}`);
  }
  return {
    ...registration,
    stateDir,
    keyPem,
    certPem,
    tunnelCaPem,
    certSerial: normalizeSerial(cert.serialNumber),
    certNotAfter: cert.validToDate.toISOString(),
    files,
  };
}
