import type tls from 'node:tls';

/** Mozilla's server-side TLS profiles (https://wiki.mozilla.org/Security/Server_Side_TLS), version 5.7. */
export type TlsProfile = 'intermediate' | 'modern';

export const TLS_PROFILES: readonly TlsProfile[] = ['intermediate', 'modern'];

/** TLS 1.3's suites are all AEAD; Node reads them from the same `ciphers` string when named here. */
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/**
 * TLS 1.2 suites of the intermediate profile: forward secrecy and AEAD only (no CBC, so no Lucky13-style padding
 * oracles, no SHA-1 MACs). Mozilla's DHE-RSA suites are left out: the edge configures no DH parameters.
 */
export const TLS12_AEAD_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];

/**
 * The protocol versions and suites for every TLS server on the public port (users and tunnels). They go into each
 * secure context, not only the server: a context picked by SNI brings its own settings.
 * `intermediate`: TLS 1.2 with the AEAD suites above, and TLS 1.3. `modern`: TLS 1.3 only.
 */
export function tlsProfileOptions(
  profile: TlsProfile,
): Pick<tls.SecureContextOptions, 'minVersion' | 'maxVersion' | 'ciphers'> {
  // TLS 1.3 suites must be named too: a cipher string without any makes Node cap the context at TLS 1.2.
  const ciphers = [...TLS13_SUITES, ...TLS12_AEAD_SUITES].join(':');
  return profile === 'modern'
    ? { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers }
    : { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ciphers };
}
