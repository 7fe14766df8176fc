/**
 * The client end of a TCP channel (issue 13; the edge end is edge/proxy/tcp-channel.ts): TLS to the app's external
 * host on the edge's public port, an HTTP/1.1 upgrade to `drawbridge-tcp/1` with the bearer token, then raw bytes.
 * A refusal comes back as an ordinary HTTP answer carrying the catalogue code in `x-drawbridge-error`.
 */
import tls from 'node:tls';
import { DrawbridgeError } from '../errors/drawbridge-error.ts';
import { catalogue, isErrorCode } from '../errors/catalogue.ts';

export const TCP_UPGRADE_PROTOCOL = 'drawbridge-tcp/1';
const MAX_HEAD_BYTES = 16 * 1024;

export interface ChannelTarget {
  /** The app's external host name (SNI and Host). */
  host: string;
  port: number;
  /** Where to dial; `*.localhost` names go to 127.0.0.1 (RFC 6761) so the demo needs no DNS. */
  connectHost: string;
  /** Extra CA certificates (PEM) to trust: the demo's own CA. */
  ca?: string;
}

/** `--app` as a host (`ssh-contoso.apps.localhost`) or a URL (`https://host[:port]`); `port` overrides. */
export function channelTarget(app: string, port: number | undefined, ca: string | undefined): ChannelTarget {
  const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(app) ? app : `https://${app}`);
  if (url.protocol !== 'https:')
    throw new DrawbridgeError(
      'DB-CONFIG-INVALID',
      `--app ${app}: use the app's https:// external URL or its host name`,
    );
  const host = url.hostname;
  const chosen = port ?? (url.port ? Number(url.port) : 443);
  const connectHost = host === 'localhost' || host.endsWith('.localhost') ? '127.0.0.1' : host;
  return { host, port: chosen, connectHost, ca };
}

/** Opens one channel; resolves with the TLS socket once the edge answered 101 (bytes after it are the app's). */
export function openChannel(target: ChannelTarget, token: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: target.connectHost,
      port: target.port,
      servername: target.host,
      ALPNProtocols: ['http/1.1'],
      allowHalfOpen: true,
      ...(target.ca ? { ca: [...tls.rootCertificates, target.ca] } : {}),
    } as tls.ConnectionOptions);
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      const hostHeader = target.port === 443 ? target.host : `${target.host}:${target.port}`;
      socket.write(
        `GET / HTTP/1.1\r\nhost: ${hostHeader}\r\nconnection: Upgrade\r\nupgrade: ${TCP_UPGRADE_PROTOCOL}\r\nauthorization: Bearer ${token}\r\nuser-agent: drawbridge-access\r\naccept: application/json\r\n\r\n`,
      );
    });
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) fail(new Error('the edge sent an oversized answer'));
        return;
      }
      socket.off('data', onData);
      socket.pause();
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0])?.[1] ?? 0);
      const rest = head.subarray(end + 4);
      if (status === 101) {
        socket.off('error', fail);
        if (rest.length > 0) socket.unshift(rest);
        return resolve(socket);
      }
      const header = (name: string): string | undefined =>
        lines
          .find((l) => l.toLowerCase().startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim();
      const code = header('x-drawbridge-error');
      const correlation = header('x-correlation-id');
      socket.destroy();
      if (isErrorCode(code))
        reject(
          new DrawbridgeError(
            code,
            `${catalogue[code].user} (HTTP ${status}${correlation ? `, correlation id ${correlation}` : ''})`,
          ),
        );
      else reject(new Error(`the edge answered HTTP ${status || '(no status)'} instead of opening the channel`));
    };
    socket.on('data', onData);
  });
}
