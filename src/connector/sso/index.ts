/**
 * The connector's single sign-on: one SsoProvider for the forwarder that dispatches on each app's `sso.mode`
 * (none → nothing; headers → headers.ts; kerberos → kerberos.ts). Failures are SsoErrors with a catalogue code; this
 * logs each with everything the administrator needs, tied to the correlation id, before the forwarder answers with
 * the code's page.
 */
import { catalogue } from '../../errors/catalogue.ts';
import type { Logger } from '../../lib/log.ts';
import type { SsoProvider, SsoResult } from '../forward/forwarder.ts';
import { headersSso } from './headers.ts';
import { createKerberosClient, loadKerberosConfig, loadKeytab, usableEnctypes } from './kerberos-config.ts';
import { KerberosSso } from './kerberos.ts';
import { SsoError } from './sso-error.ts';

const NONE: SsoResult = { headers: {} };

export function createSsoProvider(options: { kerberos: KerberosSso | null; logger: Logger }): SsoProvider {
  const { kerberos, logger } = options;
  return async function sso(app, identity, correlationId, context) {
    const mode = app.sso;
    if (!mode || mode.mode === 'none') return NONE;
    try {
      if (mode.mode === 'headers') return headersSso(mode, identity, context.requestHeaders);
      if (!kerberos)
        throw new SsoError('DB-KCD-NOT-CONFIGURED', 'this connector was started without --kerberos-config');
      return await kerberos.prepare(app, mode, identity, correlationId, context.retry);
    } catch (err) {
      if (err instanceof SsoError) {
        logger.warn(
          {
            correlationId,
            appId: app.id,
            code: err.code,
            detail: err.message,
            ...err.log,
            admin: catalogue[err.code].admin,
          },
          `single sign-on failed: ${catalogue[err.code].title}`,
        );
      }
      throw err;
    }
  };
}

/** `--kerberos-config FILE` → the KCD service (keytab checked now; KDC problems show per request and in diagnose). */
export async function loadKerberosSso(file: string, logger: Logger): Promise<KerberosSso> {
  const config = await loadKerberosConfig(file);
  const keytab = await loadKeytab(config);
  if (usableEnctypes(config, keytab).length === 0) {
    logger.warn(
      { keytab: config.keytab, code: 'DB-KCD-NO-COMMON-ENCTYPE' },
      'the keytab holds no AES key for the service principal: Kerberos SSO will fail',
    );
  }
  const sso = new KerberosSso(await createKerberosClient(config, keytab), logger);
  logger.info(
    { realm: config.realm, principal: config.principal, kdcs: config.kdcs },
    'Kerberos constrained delegation ready',
  );
  return sso;
}

export { SsoError } from './sso-error.ts';
