/**
 * haproxy as a one-hop reverse proxy: one thread (like nginx's one worker and Node's one event loop), HTTP
 * keep-alive on both sides with connection reuse to the backend, and the same on a TLS listener.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProxyPorts, TlsFiles } from './nginx.ts';
import { start, waitForPort, type Started } from './processes.ts';

export async function startHaproxy(
  dir: string,
  backendPort: number,
  ports: ProxyPorts,
  tls: TlsFiles,
): Promise<Started> {
  const config = `global
  nbthread 1
  maxconn 8000
  pidfile ${join(dir, 'haproxy.pid')}
  tune.ssl.default-dh-param 2048

defaults
  mode http
  timeout connect 5s
  timeout client 600s
  timeout server 600s
  timeout http-keep-alive 600s
  option http-keep-alive
  http-reuse always

frontend fe
  bind 127.0.0.1:${ports.http}
  bind 127.0.0.1:${ports.https} ssl crt ${tls.pem}
  default_backend be

backend be
  server b1 127.0.0.1:${backendPort}
`;
  const path = join(dir, 'haproxy.cfg');
  writeFileSync(path, config);
  const proc = start('haproxy', 'haproxy', ['-db', '-f', path], { logFile: join(dir, 'haproxy.log') });
  await waitForPort(ports.http, proc);
  return proc;
}
