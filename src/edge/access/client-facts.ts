/**
 * What the request says about the device and the client: platform from the `Sec-CH-UA-Platform` client hint when a
 * browser sends it (Chromium), else from the User-Agent; client type from Drawbridge's own client User-Agent or a
 * service token header. Both are claims the client makes, good for steering honest clients (require a passkey on
 * unmanaged platforms), never proof of a device.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ClientType, Platform } from '../../store/policy-types.ts';

/** The header a service token travels in (`<id>.<secret>`): a request bearing one has no person behind it. */
export const SERVICE_TOKEN_HEADER = 'x-drawbridge-service-token';
/** Drawbridge's own client sends `drawbridge-client/<version>` first in its User-Agent. */
const CLIENT_UA = /^drawbridge-client\//i;

const HINTS: Record<string, Platform> = {
  windows: 'windows',
  macos: 'macos',
  linux: 'linux',
  android: 'android',
  ios: 'ios',
  'chrome os': 'chromeos',
  chromeos: 'chromeos',
};

/** Order matters: Android User-Agents say Linux, iPadOS ones may say Macintosh with a touch hint we cannot see. */
const UA_RULES: [RegExp, Platform][] = [
  [/\b(iPhone|iPad|iPod)\b|\biOS\b/, 'ios'],
  [/\bAndroid\b/, 'android'],
  [/\bCrOS\b/, 'chromeos'],
  [/\bWindows\b/, 'windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macos'],
  [/\bLinux\b|\bX11\b/, 'linux'],
];

export function platformOf(headers: IncomingHttpHeaders): Platform {
  const hint = headers['sec-ch-ua-platform'];
  if (typeof hint === 'string') {
    const known = HINTS[hint.replace(/"/g, '').trim().toLowerCase()];
    if (known) return known;
  }
  return platformFromUserAgent(headers['user-agent']);
}

export function platformFromUserAgent(ua: string | undefined): Platform {
  if (!ua) return 'unknown';
  for (const [re, platform] of UA_RULES) if (re.test(ua)) return platform;
  return 'unknown';
}

export function clientTypeOf(headers: IncomingHttpHeaders): ClientType {
  if (typeof headers[SERVICE_TOKEN_HEADER] === 'string') return 'service-token';
  if (CLIENT_UA.test(headers['user-agent'] ?? '')) return 'drawbridge-client';
  return 'browser';
}
