import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { Store } from '../../store/types.ts';
import {
  certificateMatchesKey,
  certificateNames,
  createSelfSignedCa,
  CsrError,
  DAY,
  ensureSecretDir,
  generateKeyPair,
  importKeyPairPem,
  isIssuedBy,
  issueClientCertificate,
  issueNodeCertificate,
  issueServerCertificate,
  normalizeSerial,
  PUBLIC_FILE_MODE,
  readTextIfExists,
  remainingMs,
  sanForHost,
  verifyCsr,
  writeFileAtomic,
  writeSecretFile,
  x509,
  type CertificateAuthority,
} from '../../pki/index.ts';

/**
 * The edge's own tunnel CA. It signs exactly two kinds of certificate: the tunnel TLS server certificate (SAN =
 * tunnelHost) and connector client certificates (CN = connector id, clientAuth). Connectors pin this CA, never the
 * system roots, so a public CA cannot impersonate the edge to them and a connector cert is useless anywhere else.
 */
export interface TunnelCa {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** Signs the CSR's key (signature already checked here too) as CN=<connectorId>, clientAuth, `validityDays`. */
  issueConnectorCertificate(
    csrPem: string,
    connectorId: string,
    validityDays: number,
  ): Promise<IssuedConnectorCertificate>;
  /**
   * Checks a client certificate presented on the tunnel: issued by this CA, within validity, clientAuth, CN a
   * connector id. Throws DB-TUNNEL-CERT-REFUSED otherwise. The caller still checks the serial and the enabled flag
   * against the store.
   */
  verifyPeer(cert: string | Uint8Array | X509Certificate, now?: Date): { connectorId: string; serial: string };
  /**
   * An edge node's certificate for the relay between nodes (edge/cluster/relay-credentials.ts): a fresh key, CN =
   * `commonName`, clientAuth + serverAuth. Held in memory only; each node issues its own at start.
   */
  issueNodeCertificate(
    commonName: string,
    validityDays: number,
  ): Promise<{ certPem: string; keyPem: string; notAfter: Date }>;
}

export interface IssuedConnectorCertificate {
  certPem: string;
  /** Lower-case hex: what `Connector.certSerial` stores and `verifyPeer` returns. */
  serial: string;
  /** ISO 8601. */
  notAfter: string;
}

export const TUNNEL_CA_DIR = 'tunnel-ca';
const CA_COMMON_NAME = 'Drawbridge Tunnel CA';
const CA_VALIDITY_DAYS = 3650;
const SERVER_VALIDITY_DAYS = 365;
/** Re-issue the tunnel server certificate at start when it has less than this left. */
const SERVER_RENEW_BEFORE_MS = 30 * DAY;
const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
export const CONNECTOR_ID_PATTERN = /^con_[0-9a-f]{16}$/;

/**
 * Loads the deployment's tunnel CA from the store (the same for every edge node on it), creating it on first start,
 * and makes sure this node's `<stateDir>/tunnel-ca/server.crt` and server.key name `tunnelHost` and stay valid for
 * 30 days or more (re-issued otherwise, same CA). The server certificate is the node's own; connectors pin the CA.
 *
 * Upgrading: an edge whose state directory still holds the CA of earlier versions (tunnel-ca/ca.crt, ca.key) offers
 * it to a store that has none, so connectors enrolled before keep working; once the store has a CA it is the only one
 * used. Nodes starting together on an empty store race to offer theirs; the store keeps one and all of them use it.
 *
 * A CA certificate without its key (or with another key) is an error, never a reason to make a new CA: every
 * enrolled connector pins this one.
 */
export async function loadOrCreateTunnelCa(
  store: Pick<Store, 'edgeKeys'>,
  stateDir: string,
  tunnelHost: string,
): Promise<TunnelCa> {
  const dir = join(stateDir, TUNNEL_CA_DIR);
  await ensureSecretDir(dir);
  const files = {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
  };
  const now = new Date();

  let stored = await store.edgeKeys.getTunnelCa();
  if (!stored)
    stored = await store.edgeKeys.initTunnelCa(
      (await readFormerCa(files.caCert, files.caKey, now)) ?? (await newCa(now)),
    );
  const ca = await parseCa(stored.certPem, stored.keyPem, now, (what) =>
    broken(`the CA in the store: ${what}`, "Restore the store's database (and its key ring) from backup"),
  );
  const server = await loadOrIssueServer(files.serverCert, files.serverKey, ca, tunnelHost, now);
  return makeTunnelCa(ca, server);
}

async function newCa(now: Date): Promise<{ certPem: string; keyPem: string }> {
  const pair = await generateKeyPair();
  const cert = await createSelfSignedCa({
    commonName: CA_COMMON_NAME,
    keys: pair.keys,
    validityDays: CA_VALIDITY_DAYS,
    now,
  });
  return { certPem: cert.toString('pem'), keyPem: pair.privateKeyPem };
}

/** The CA files earlier versions kept in the state directory, checked as they were then; null when there are none. */
async function readFormerCa(
  certPath: string,
  keyPath: string,
  now: Date,
): Promise<{ certPem: string; keyPem: string } | null> {
  const [certPem, keyPem] = await Promise.all([readTextIfExists(certPath), readTextIfExists(keyPath)]);
  const restore =
    'Restore the tunnel-ca directory from backup; only if it is lost for good, move it away to create a new CA and re-register every connector';
  if (certPem === null) {
    if (keyPem !== null) throw broken(`${keyPath} exists without ${certPath}`, restore);
    return null;
  }
  if (keyPem === null) throw broken(`${certPath} exists but ${keyPath} is missing`, restore);
  await parseCa(certPem, keyPem, now, (what) => broken(`${certPath} and ${keyPath}: ${what}`, restore));
  return { certPem, keyPem };
}

async function parseCa(
  certPem: string,
  keyPem: string,
  now: Date,
  fail: (what: string) => DrawbridgeError,
): Promise<CertificateAuthority> {
  let ca: CertificateAuthority;
  try {
    ca = { cert: new x509.X509Certificate(certPem), keys: await importKeyPairPem(keyPem) };
  } catch (err) {
    throw fail(`does not parse (${(err as Error).message})`);
  }
  if (!(await certificateMatchesKey(ca.cert, ca.keys))) throw fail("the key is not the certificate's");
  if (remainingMs(ca.cert, now) <= 0) throw fail(`expired on ${ca.cert.notAfter.toISOString()}`);
  return ca;
}

function broken(what: string, todo: string): DrawbridgeError {
  return new DrawbridgeError('DB-CONFIG-INVALID', `tunnel CA: ${what}. ${todo}`);
}

async function loadOrIssueServer(
  certPath: string,
  keyPath: string,
  ca: CertificateAuthority,
  tunnelHost: string,
  now: Date,
): Promise<{ certPem: string; keyPem: string }> {
  const want = sanForHost(tunnelHost);
  const [certPem, keyPem] = await Promise.all([readTextIfExists(certPath), readTextIfExists(keyPath)]);
  if (certPem && keyPem) {
    try {
      const cert = new x509.X509Certificate(certPem);
      const names = certificateNames(cert);
      const good =
        remainingMs(cert, now) >= SERVER_RENEW_BEFORE_MS &&
        sameList(names.dnsNames, want.dnsNames) &&
        sameList(names.ipAddresses, want.ipAddresses) &&
        (await isIssuedBy(cert, ca.cert, now)) &&
        (await certificateMatchesKey(cert, await importKeyPairPem(keyPem)));
      if (good) return { certPem, keyPem };
    } catch {
      // Unreadable: re-issue below.
    }
  }
  const pair = await generateKeyPair();
  const issued = await issueServerCertificate({
    ca,
    publicKey: pair.keys.publicKey,
    ...want,
    validityDays: SERVER_VALIDITY_DAYS,
    now,
  });
  await writeSecretFile(keyPath, pair.privateKeyPem);
  await writeFileAtomic(certPath, issued.certPem, PUBLIC_FILE_MODE);
  return { certPem: issued.certPem, keyPem: pair.privateKeyPem };
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function makeTunnelCa(ca: CertificateAuthority, server: { certPem: string; keyPem: string }): TunnelCa {
  const caCertPem = ca.cert.toString('pem');
  const caNode = new X509Certificate(caCertPem);

  return {
    caCertPem,
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,

    async issueConnectorCertificate(csrPem, connectorId, validityDays) {
      if (!CONNECTOR_ID_PATTERN.test(connectorId)) throw new RangeError(`not a connector id: ${connectorId}`);
      const { publicKey } = await verifyCsrOrThrow(csrPem);
      const issued = await issueClientCertificate({ ca, publicKey, commonName: connectorId, validityDays });
      return { certPem: issued.certPem, serial: issued.serial, notAfter: issued.notAfter.toISOString() };
    },

    async issueNodeCertificate(commonName, validityDays) {
      const pair = await generateKeyPair();
      const issued = await issueNodeCertificate({ ca, publicKey: pair.keys.publicKey, commonName, validityDays });
      return { certPem: issued.certPem, keyPem: pair.privateKeyPem, notAfter: issued.notAfter };
    },

    verifyPeer(cert, now = new Date()) {
      let peer: X509Certificate;
      try {
        peer =
          cert instanceof X509Certificate
            ? cert
            : new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
      } catch (err) {
        throw new DrawbridgeError('DB-TUNNEL-CERT-REFUSED', 'the certificate does not parse', { cause: err });
      }
      if (!peer.checkIssued(caNode) || !peer.verify(caNode.publicKey)) refuse("not issued by this edge's tunnel CA");
      if (now < peer.validFromDate || now > peer.validToDate)
        refuse(`outside its validity (${peer.validFrom} – ${peer.validTo})`);
      if (peer.ca) refuse('a CA certificate');
      if (!(peer.keyUsage ?? []).includes(CLIENT_AUTH_OID)) refuse('no clientAuth extended key usage');
      const connectorId = /^CN=(.+)$/m.exec(peer.subject)?.[1] ?? '';
      if (!CONNECTOR_ID_PATTERN.test(connectorId)) refuse('the subject is not a connector id');
      return { connectorId, serial: normalizeSerial(peer.serialNumber) };
    },
  };
}

/** verifyCsr with its failure mapped to the catalogue: DB-ENROLL-CSR-INVALID, the reason as safe detail. */
export async function verifyCsrOrThrow(csrPem: string): Promise<Awaited<ReturnType<typeof verifyCsr>>> {
  try {
    return await verifyCsr(csrPem);
  } catch (err) {
    if (err instanceof CsrError) throw new DrawbridgeError('DB-ENROLL-CSR-INVALID', err.message, { cause: err });
    throw err;
  }
}

function refuse(reason: string): never {
  throw new DrawbridgeError('DB-TUNNEL-CERT-REFUSED', reason);
}
