import tls from 'node:tls';
import type { Logger } from '../../lib/log.ts';
import type { Store } from '../../store/types.ts';

/** The ALPN protocol of TLS-ALPN-01 validation connections (RFC 8737 §6.2). */
export const ACME_TLS_ALPN = 'acme-tls/1';

export function challengeHost(identifier: string): string {
  return identifier.toLowerCase().replace(/\.$/, '');
}

/**
 * Answers TLS-ALPN-01 validations on the public port: a ClientHello offering only `acme-tls/1` comes here (edge.ts
 * routes it), gets the challenge certificate stored for its SNI name by whichever node placed the order, and the
 * connection ends after the handshake (RFC 8737 §3). An unknown name gets no certificate: the handshake fails.
 */
export function createAlpnChallengeServer(options: {
  store: Store;
  logger: Logger;
  handshakeTimeoutMs: number;
}): tls.Server {
  const { store, logger } = options;
  const server = tls.createServer(
    {
      ALPNProtocols: [ACME_TLS_ALPN],
      handshakeTimeout: options.handshakeTimeoutMs,
      minVersion: 'TLSv1.2',
      SNICallback: (name, cb) => {
        store.certificates.getAcmeChallenge(challengeHost(name)).then(
          (found) => {
            if (!found) return cb(new Error(`no ACME challenge pending for ${name}`), undefined);
            cb(null, tls.createSecureContext({ cert: found.certPem, key: found.keyPem, minVersion: 'TLSv1.2' }));
          },
          (err: Error) => cb(err, undefined),
        );
      },
    },
    (socket) => {
      logger.debug(
        { servername: (socket as tls.TLSSocket & { servername?: string }).servername },
        'acme: TLS-ALPN-01 validation answered',
      );
      socket.end();
    },
  );
  server.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'acme: TLS-ALPN-01 handshake failed'));
  return server;
}

/** A validation connection offers `acme-tls/1` and nothing else (RFC 8737 §3); users never do. */
export function isAcmeValidation(alpn: string[]): boolean {
  return alpn.length === 1 && alpn[0] === ACME_TLS_ALPN;
}
