/**
 * nginx as the backend (one worker, static files) and as a one-hop reverse proxy (keep-alive upstream).
 *
 * Both run in the foreground (`daemon off`) from their own config, pid file, logs and temp paths inside the
 * bench's temp dir, so they touch nothing of the system's nginx.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, waitForPort, type Started } from './processes.ts';

export interface TlsFiles {
  cert: string;
  key: string;
  /** cert + key in one file (haproxy's `crt`). */
  pem: string;
}

function header(dir: string, name: string): string {
  mkdirSync(join(dir, `${name}-tmp`), { recursive: true });
  return `daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${join(dir, `${name}.pid`)};
error_log stderr warn;
events { worker_connections 8192; }
`;
}

function httpCommon(dir: string, name: string): string {
  const tmp = join(dir, `${name}-tmp`);
  return `
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 600s;
  keepalive_requests 10000000;
  default_type application/octet-stream;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
`;
}

async function launch(dir: string, name: string, config: string, port: number): Promise<Started> {
  const path = join(dir, `${name}.conf`);
  writeFileSync(path, config);
  const proc = start(name, 'nginx', ['-p', dir, '-e', 'stderr', '-c', path], {
    logFile: join(dir, `${name}.log`),
  });
  await waitForPort(port, proc);
  return proc;
}

/** The backend: static files from `root` (the 1 KiB and 256 MiB files), one worker. */
export function startBackend(dir: string, root: string, port: number): Promise<Started> {
  const config = `${header(dir, 'nginx-backend')}
http {
${httpCommon(dir, 'nginx-backend')}
  server {
    listen 127.0.0.1:${port} backlog=4096 reuseport;
    root ${root};
    # The page-load step's page and assets (the 1 KiB and 256 MiB files have no extension: default_type).
    types { text/html html; text/css css; text/javascript js; image/svg+xml svg; }
    location / { }
  }
}
`;
  return launch(dir, 'nginx-backend', config, port);
}

export interface ProxyPorts {
  http: number;
  https: number;
}

/**
 * One-hop reverse proxy to the backend: one worker, keep-alive upstream, streaming (no temp files), and the
 * same on a TLS listener. `/ws` goes to the WebSocket backend with the Upgrade headers passed on.
 */
export function startProxy(
  dir: string,
  backendPort: number,
  wsPort: number,
  ports: ProxyPorts,
  tls: TlsFiles,
): Promise<Started> {
  const config = `${header(dir, 'nginx-proxy')}
http {
${httpCommon(dir, 'nginx-proxy')}
  upstream backend {
    server 127.0.0.1:${backendPort};
    keepalive 512;
    keepalive_requests 10000000;
    keepalive_timeout 600s;
  }
  upstream wsbackend {
    server 127.0.0.1:${wsPort};
  }
  server {
    listen 127.0.0.1:${ports.http} backlog=4096;
    # http2: h2load compares HTTP/2 client load across peers (wrk and the idle clients offer no ALPN: HTTP/1.1).
    listen 127.0.0.1:${ports.https} ssl http2 backlog=4096;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    ssl_session_cache shared:SSL:10m;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_max_temp_file_size 0;
    }
    location /ws {
      proxy_pass http://wsbackend;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 600s;
    }
  }
}
`;
  return launch(dir, 'nginx-proxy', config, ports.http);
}
