import { X509Certificate } from 'node:crypto';
import { readFile, rename, rm } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { createCsr, ensureSecretDir, exists, generateKeyPair, writeSecretFile } from '../../pki/index.ts';
import { postEnrollment } from './enroll-client.ts';
import { loadConnectorState, statePaths, type ConnectorRegistration, type ConnectorState } from './state.ts';

export interface RegisterOptions {
  /** `https://<tunnel host>[:port]` of the edge. */
  edgeUrl: string;
  /** One-time enrollment token from the administrator (`dbe_…`). Never written to disk or logged. */
  token: string;
  stateDir: string;
  /** PEM CA bundle to trust for the edge's HTTPS certificate; the system roots when absent. */
  caFile?: string;
  /** Display name on the edge (default: the host name). */
  name?: string;
  /** Host name reported to the edge (default: os.hostname()). */
  hostname?: string;
  version: string;
  /** Dial this `host:port` or IP instead of resolving the URL's host; SNI and Host stay the URL's host. */
  connectAddress?: string;
  /** Replace an existing registration in `stateDir`. */
  force?: boolean;
  onProgress?: (msg: string) => void;
}

/**
 * Registers this connector with the edge:
 *
 * 1. refuse if `stateDir` already holds a registration (unless `force`);
 * 2. generate an ECDSA P-256 key here and write it at once (0600, pending name) so an unwritable state dir fails
 *    before the one-time token is spent; the key never leaves this host;
 * 3. send a CSR with the token over HTTPS (pinned `caFile` or system roots);
 * 4. check the answer: the certificate carries our key, names the connector and chains to the returned tunnel CA;
 * 5. write connector.crt, tunnel-ca.crt, then the key under its final name, and connector.json last (all 0600, the
 *    directory 0700), and load it back through `loadConnectorState`.
 */
export async function register(opts: RegisterOptions): Promise<ConnectorState> {
  const progress = opts.onProgress ?? (() => {});
  const edgeUrl = parseEdgeUrl(opts.edgeUrl);
  const files = statePaths(opts.stateDir);

  await ensureSecretDir(opts.stateDir);
  if (!opts.force && (await exists(files.registration))) {
    throw new DrawbridgeError(
      'DB-ENROLL-ALREADY-REGISTERED',
      `${files.registration} exists; pass --force to replace it (the old connector stays on the edge until deleted)`,
    );
  }
  const ca = opts.caFile ? await readCaFile(opts.caFile) : undefined;

  progress('generating the connector key (ECDSA P-256)');
  const pair = await generateKeyPair();
  const pendingKey = `${files.key}.pending`;
  await writeSecretFile(pendingKey, pair.privateKeyPem);
  try {
    const hostname = opts.hostname ?? osHostname();
    const csr = await createCsr(pair.keys, hostname);

    progress(`enrolling with ${edgeUrl.origin}${opts.connectAddress ? ` via ${opts.connectAddress}` : ''}`);
    const answer = await postEnrollment({
      edgeUrl,
      ca,
      connectAddress: opts.connectAddress,
      body: { token: opts.token, csr, hostname, version: opts.version, ...(opts.name ? { name: opts.name } : {}) },
    });
    checkIssued(answer.certificate, answer.caCertificate, answer.connectorId, pair.publicKeyPem);

    progress(
      `registered as ${answer.connectorId} (tenant ${answer.tenantId}, group ${answer.groupId}); writing ${opts.stateDir}`,
    );
    const registration: ConnectorRegistration = {
      connectorId: answer.connectorId,
      tenantId: answer.tenantId,
      groupId: answer.groupId,
      edgeUrl: edgeUrl.origin,
      tunnelHost: answer.tunnelHost,
      ...(opts.connectAddress ? { connectAddress: opts.connectAddress } : {}),
      registeredAt: new Date().toISOString(),
    };
    await writeSecretFile(files.cert, answer.certificate);
    await writeSecretFile(files.tunnelCa, answer.caCertificate);
    await rename(pendingKey, files.key);
    await writeSecretFile(files.registration, `${JSON.stringify(registration, null, 2)}\n`);
  } finally {
    await rm(pendingKey, { force: true });
  }
  return loadConnectorState(opts.stateDir);
}

function parseEdgeUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DrawbridgeError('DB-CONFIG-INVALID', `edge URL: not a URL: "${value}"`);
  }
  if (url.protocol !== 'https:')
    throw new DrawbridgeError('DB-CONFIG-INVALID', 'edge URL: must start with https:// (the token is a secret)');
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    throw new DrawbridgeError(
      'DB-CONFIG-INVALID',
      'edge URL: expected https://host[:port] with no path, query or credentials',
    );
  }
  return url;
}

async function readCaFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new DrawbridgeError(
      'DB-CONFIG-INVALID',
      `CA file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { cause: err },
    );
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    throw new DrawbridgeError('DB-CONFIG-INVALID', `CA file ${path}: no PEM certificate in it`);
  return text;
}

/** The edge's answer must certify our key, as the connector id, under the CA it tells us to pin (enrolment and renewal). */
export function checkIssued(certPem: string, caPem: string, connectorId: string, publicKeyPem: string): void {
  const bad = (detail: string): DrawbridgeError =>
    new DrawbridgeError('DB-ENROLL-EDGE-UNREACHABLE', `the edge answered with ${detail}`);
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    ca = new X509Certificate(caPem);
  } catch (err) {
    throw bad(`a certificate that does not parse (${(err as Error).message})`);
  }
  const ours = Buffer.from(publicKeyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  if (!ours.equals(cert.publicKey.export({ type: 'spki', format: 'der' }))) throw bad('a certificate for another key');
  if (!ca.ca || !cert.checkIssued(ca) || !cert.verify(ca.publicKey))
    throw bad('a certificate not signed by the tunnel CA it sent');
  if (cert.subject !== `CN=${connectorId}`) throw bad(`a certificate for ${cert.subject}, not ${connectorId}`);
}
