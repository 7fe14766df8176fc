/**
 * A tenant's OpenID Connect providers: the checks both stores apply (rules shared like store/rules.ts), the sealing
 * of a provider's configuration, and home realm discovery — which provider owns the domain of the name a user types.
 */
import { DrawbridgeError } from '../errors/drawbridge-error.ts';
import type { OidcProvider, OidcProviderInput, OidcSettings } from './directory-types.ts';
import { checkOidc, sealedFor } from './rules.ts';
import { requireSlug } from './validate.ts';

/** The provider the single-provider settings (`IdentitySettings.oidc`) read and write. */
export const DEFAULT_PROVIDER_ID = 'default';
const MAX_PROVIDERS = 20;
const MAX_DOMAINS = 100;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

/** Additional data of a provider's sealed configuration; `default` keeps the settings' own, so the migration moved it unchanged. */
export function providerSealedFor(tenantId: string, id: string): string {
  return id === DEFAULT_PROVIDER_ID ? sealedFor.oidc(tenantId) : `${sealedFor.oidc(tenantId)}:${id}`;
}

export function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

/** The checked provider with its defaults; `others` are the tenant's other providers (a domain has one owner). */
export function checkProvider(input: OidcProviderInput, others: readonly OidcProvider[]): OidcProvider {
  if (typeof input.id !== 'string') throw new DrawbridgeError('DB-ADMIN-INVALID', 'id is required');
  const id = requireSlug('id', input.id);
  if (!others.some((p) => p.id === id) && others.filter((p) => p.id !== id).length >= MAX_PROVIDERS) {
    throw new DrawbridgeError('DB-ADMIN-INVALID', `a tenant has at most ${MAX_PROVIDERS} identity providers`);
  }
  const oidc = checkOidc(input as OidcSettings);
  const domains = [...new Set((input.domains ?? []).map((d) => (typeof d === 'string' ? normalizeDomain(d) : '')))];
  if (domains.length > MAX_DOMAINS)
    throw new DrawbridgeError('DB-ADMIN-INVALID', `a provider owns at most ${MAX_DOMAINS} domains`);
  for (const domain of domains) {
    if (!DOMAIN.test(domain))
      throw new DrawbridgeError('DB-ADMIN-INVALID', `domains: ${JSON.stringify(domain)} is not a DNS domain`);
    const owner = others.find((p) => p.id !== id && p.domains.includes(domain));
    if (owner)
      throw new DrawbridgeError('DB-ADMIN-INVALID', `domains: ${domain} already belongs to provider ${owner.id}`);
  }
  const label = typeof input.buttonLabel === 'string' ? input.buttonLabel.trim() : '';
  if (label.length > 100 || /[\u0000-\u001f\u007f]/.test(label))
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'buttonLabel: at most 100 printable characters');
  return { ...oidc, id, domains, buttonLabel: label };
}

/** A provider as read back: an empty button label becomes `Sign in with <displayName>`; a migrated row gets no domains. */
export function providerFromSealed(id: string, opened: string): OidcProvider {
  const stored = JSON.parse(opened) as Partial<OidcProvider> & OidcSettings;
  const domains = Array.isArray(stored.domains) ? stored.domains : [];
  const displayName = stored.displayName || 'your organisation';
  return { ...stored, id, domains, displayName, buttonLabel: stored.buttonLabel || `Sign in with ${displayName}` };
}

/** The single-provider view of a provider (what `IdentitySettings.oidc` has always held). */
export function asOidcSettings(p: OidcProvider): OidcSettings {
  const { id: _id, domains: _domains, buttonLabel: _label, ...oidc } = p;
  return oidc;
}

/** The domain of a typed sign-in name (`alice@contoso.example`, a UPN), or null when it has none. */
export function loginDomain(login: string): string | null {
  const at = login.lastIndexOf('@');
  if (at <= 0 || at === login.length - 1) return null;
  return normalizeDomain(login.slice(at + 1));
}

/**
 * Home realm discovery: the provider that owns the domain of `login`, exactly (a subdomain is another domain), or
 * null, when the name belongs to the local directory (password).
 */
export function providerForLogin<P extends Pick<OidcProvider, 'domains'>>(
  providers: readonly P[],
  login: string,
): P | null {
  const domain = loginDomain(login.trim());
  if (!domain) return null;
  return providers.find((p) => p.domains.includes(domain)) ?? null;
}

/** What the single-provider settings keep of the `default` provider when they replace it: its domains, and a button label set apart from the default. */
export function legacyExtras(
  providers: readonly OidcProvider[],
): Pick<OidcProvider, 'domains'> & { buttonLabel?: string } {
  const current = providers.find((p) => p.id === DEFAULT_PROVIDER_ID);
  if (!current) return { domains: [] };
  const custom = current.buttonLabel !== `Sign in with ${current.displayName}`;
  return custom ? { domains: current.domains, buttonLabel: current.buttonLabel } : { domains: current.domains };
}
