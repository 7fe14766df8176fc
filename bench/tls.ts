/** A self-signed certificate for the baselines' TLS listeners (openssl CLI; no CA needed: clients skip checks). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsFiles } from './nginx.ts';
import { run } from './processes.ts';

export async function selfSigned(dir: string): Promise<TlsFiles> {
  const cert = join(dir, 'bench-cert.pem');
  const key = join(dir, 'bench-key.pem');
  const pem = join(dir, 'bench-combined.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  writeFileSync(pem, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'));
  return { cert, key, pem };
}
