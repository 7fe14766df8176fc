/**
 * Client address → country (ISO 3166-1 alpha-2), with the `maxmind` reader over an MMDB file. The default file is
 * the country database the `@ip-location-db/geo-whois-asn-country-mmdb` package ships (CC0 code, data CC BY 4.0
 * from the regional registries; records `{ country_code }`); `DRAWBRIDGE_COUNTRY_DB` names another, for example a
 * GeoLite2-Country or GeoIP2-Country file (records `{ country: { iso_code } }`), both shapes are read. The file is
 * opened on first use; lookups are in memory (the reader keeps its own small cache).
 */
import { createRequire } from 'node:module';
import maxmind, { type Reader, type Response } from 'maxmind';

export interface CountryLookup {
  country(ip: string | null): string | null;
}

type CountryRecord = {
  country_code?: string;
  country?: { iso_code?: string };
  registered_country?: { iso_code?: string };
};

export function defaultCountryDatabase(): string {
  return (
    process.env.DRAWBRIDGE_COUNTRY_DB ||
    createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb')
  );
}

export async function openCountryLookup(file = defaultCountryDatabase()): Promise<CountryLookup> {
  // The record shape differs between databases; read it loosely and pick the code out below.
  const reader: Reader<Response> = await maxmind.open<Response>(file);
  return {
    country(ip) {
      if (!ip) return null;
      const bare = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
      if (!maxmind.validate(bare)) return null;
      const r = reader.get(bare) as CountryRecord | null;
      const code = r?.country_code ?? r?.country?.iso_code ?? r?.registered_country?.iso_code;
      return typeof code === 'string' && /^[A-Z]{2}$/i.test(code) ? code.toUpperCase() : null;
    },
  };
}

/** For a deployment that configures no database at all (never used by default). */
export const NO_COUNTRIES: CountryLookup = { country: () => null };
