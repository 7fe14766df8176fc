/**
 * Who may speak on the relay between edge nodes (issue 11): a node certificate issued by the tunnel CA every node
 * shares, told apart from connector certificates (CN = `con_…`) by its subject prefix. Each node issues its own at
 * start (a fresh key, held in memory only) and renews it daily; it presents it both ways: as the client certificate
 * when it dials a peer, and as the server certificate when a peer dials it. A connector certificate is refused on the
 * relay, and a node certificate on the tunnel endpoint (no connector has its CN).
 */
import type { PeerCertificate } from 'node:tls';
import type { TunnelCa } from '../enroll/tunnel-ca.ts';

/** ALPN of the relay on the public port (listen/public-port.ts routes it beside the tunnels'). */
export const RELAY_ALPN = 'drawbridge-relay/1';
/** Subject CN of a node certificate: the prefix, then the node id. */
export const NODE_CN_PREFIX = 'drawbridge-edge-node:';
const NODE_CERT_VALIDITY_DAYS = 30;
const RENEW_EVERY_MS = 24 * 3_600_000;
const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';

export interface NodeCredentials {
  caCertPem: string;
  certPem: string;
  keyPem: string;
}

export interface NodeCredentialSource {
  current(): NodeCredentials;
  stop(): void;
}

/** Issues this node's certificate now, and a new one every day (`onRenew` hands it to the relay server). */
export async function startNodeCredentials(
  ca: TunnelCa,
  nodeId: string,
  onRenew: (c: NodeCredentials) => void,
  onError: (err: Error) => void,
): Promise<NodeCredentialSource> {
  const issue = async (): Promise<NodeCredentials> => {
    const issued = await ca.issueNodeCertificate(`${NODE_CN_PREFIX}${nodeId}`, NODE_CERT_VALIDITY_DAYS);
    return { caCertPem: ca.caCertPem, certPem: issued.certPem, keyPem: issued.keyPem };
  };
  let current = await issue();
  const timer = setInterval(() => {
    issue().then((next) => {
      current = next;
      onRenew(next);
    }, onError);
  }, RENEW_EVERY_MS);
  timer.unref();
  return { current: () => current, stop: () => clearInterval(timer) };
}

/**
 * The node id a peer's certificate names, or null when it is not a node certificate (the chain to the tunnel CA is
 * checked by TLS already): the subject prefix, and the extended key usage the role needs.
 */
export function nodeIdOfPeer(
  cert: Pick<PeerCertificate, 'subject'> & { ext_key_usage?: string[] },
  role: 'client' | 'server',
): string | null {
  const cn = cert.subject?.CN;
  if (typeof cn !== 'string' || !cn.startsWith(NODE_CN_PREFIX)) return null;
  const id = cn.slice(NODE_CN_PREFIX.length);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(id) || id.length > 200) return null;
  if (!(cert.ext_key_usage ?? []).includes(role === 'client' ? CLIENT_AUTH_OID : SERVER_AUTH_OID)) return null;
  return id;
}
