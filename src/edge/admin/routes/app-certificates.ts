import { createPrivateKey, X509Certificate } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DrawbridgeError } from '../../../errors/drawbridge-error.ts';
import type { App, StoredAppCertificate } from '../../../store/types.ts';
import type { AdminContext } from '../context.ts';
import { TenantObjectParams, errorResponses } from '../schemas.ts';

const AppParams = TenantObjectParams('appId', 'App id (app_…) or name.');

const CertificateInfo = Type.Object({
  appId: Type.String(),
  host: Type.String({ description: "The app's host the certificate is served for (by SNI)." }),
  source: Type.Union([Type.Literal('upload'), Type.Literal('acme')]),
  subjectAltName: Type.String(),
  issuer: Type.String(),
  notAfter: Type.String(),
  fingerprint256: Type.String(),
  updatedAt: Type.String(),
});

const Upload = Type.Object({
  certificate: Type.String({ description: "PEM chain, leaf first; must cover the app's host." }),
  privateKey: Type.String({ description: 'PEM private key of the leaf (PKCS#8, PKCS#1 or SEC1).' }),
});

function info(c: StoredAppCertificate): Static<typeof CertificateInfo> {
  const x = new X509Certificate(c.certPem);
  return {
    appId: c.appId,
    host: c.host,
    source: c.source,
    subjectAltName: x.subjectAltName ?? '',
    issuer: x.issuer,
    notAfter: c.notAfter,
    fingerprint256: x.fingerprint256,
    updatedAt: c.updatedAt,
  };
}

/** A certificate an administrator uploads must be a leaf for the app's host, match its key, and be valid now. */
export function checkUpload(
  app: App,
  certPem: string,
  keyPem: string,
  now = new Date(),
): { leaf: X509Certificate; chain: string } {
  const blocks = certPem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  let leaf: X509Certificate;
  try {
    for (const block of blocks) new X509Certificate(block); // every certificate of the chain must parse
    leaf = new X509Certificate(blocks[0] ?? '');
  } catch {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'certificate: expected a PEM certificate chain, leaf first');
  }
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'privateKey: expected a PEM private key');
  }
  if (!matches) throw new DrawbridgeError('DB-ADMIN-INVALID', 'privateKey: does not belong to the certificate');
  const host = app.externalHost;
  const sans = (leaf.subjectAltName ?? '').split(', ').map((n) => n.toLowerCase());
  const covered = host.startsWith('*.')
    ? sans.includes(`dns:${host}`)
    : leaf.checkHost(host, { subject: 'never' }) !== undefined;
  if (!covered)
    throw new DrawbridgeError(
      'DB-ADMIN-INVALID',
      `certificate: its names (${leaf.subjectAltName ?? 'none'}) do not cover the app's host ${host}`,
    );
  if (new Date(leaf.validTo) <= now)
    throw new DrawbridgeError('DB-ADMIN-INVALID', `certificate: expired on ${new Date(leaf.validTo).toISOString()}`);
  if (new Date(leaf.validFrom) > now)
    throw new DrawbridgeError(
      'DB-ADMIN-INVALID',
      `certificate: not valid before ${new Date(leaf.validFrom).toISOString()}`,
    );
  return { leaf, chain: `${blocks.join('\n')}\n` };
}

/**
 * An app's own certificate (custom domains): upload a PEM chain and key, see what is served, remove it (the app then
 * gets the edge's certificate, or an ACME one when ACME is configured). Every edge node serves a change on its next
 * handshake: no restart.
 */
export function appCertificateRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store } = ctx;
  const tags = ['apps'];
  const path = '/tenants/:tenantId/apps/:appId/certificate';

  async function find(params: Static<typeof AppParams>): Promise<App> {
    const tenant = await ctx.tenant(params.tenantId);
    const found = params.appId.startsWith('app_')
      ? await store.apps.get(tenant.id, params.appId)
      : (await store.apps.list(tenant.id)).find((a) => a.name === params.appId);
    if (!found) throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `app ${params.appId} not found`);
    return found;
  }

  app.put<{ Params: Static<typeof AppParams>; Body: Static<typeof Upload> }>(
    path,
    {
      schema: {
        tags,
        summary: "Upload the app's own certificate (served by SNI for its host, replacing any before it)",
        params: AppParams,
        body: Upload,
        response: { 200: CertificateInfo, ...errorResponses(400, 404) },
      },
    },
    async (req) => {
      const target = await find(req.params);
      const { leaf, chain } = checkUpload(target, req.body.certificate, req.body.privateKey);
      const stored = await store.certificates.put(target.tenantId, target.id, {
        host: target.externalHost,
        source: 'upload',
        certPem: chain,
        keyPem: req.body.privateKey,
        notAfter: new Date(leaf.validTo).toISOString(),
      });
      await ctx.audit(target.tenantId, 'app.certificate.uploaded', target.id, {
        host: target.externalHost,
        fingerprint256: leaf.fingerprint256,
        notAfter: stored.notAfter,
      });
      return info(stored);
    },
  );

  app.get<{ Params: Static<typeof AppParams> }>(
    path,
    {
      schema: {
        tags,
        summary: "The app's own certificate",
        params: AppParams,
        response: { 200: CertificateInfo, ...errorResponses(404) },
      },
    },
    async (req) => {
      const target = await find(req.params);
      const stored = await store.certificates.get(target.tenantId, target.id);
      if (!stored) throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `app ${target.name} has no certificate of its own`);
      return info(stored);
    },
  );

  app.delete<{ Params: Static<typeof AppParams> }>(
    path,
    {
      schema: {
        tags,
        summary: "Remove the app's own certificate",
        params: AppParams,
        response: { 204: Type.Null(), ...errorResponses(404) },
      },
    },
    async (req, reply) => {
      const target = await find(req.params);
      if (!(await store.certificates.delete(target.tenantId, target.id)))
        throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `app ${target.name} has no certificate of its own`);
      await ctx.audit(target.tenantId, 'app.certificate.removed', target.id, { host: target.externalHost });
      return reply.code(204).send();
    },
  );
}
