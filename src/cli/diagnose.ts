/**
 * `drawbridge connector diagnose kcd`: runs Kerberos constrained delegation one step at a time — keytab, TGT,
 * S4U2Self, S4U2Proxy, the backend's answer — and says which step fails, with the catalogue code, a plain
 * explanation and the fix. What a network capture and a Kerberos expert used to be needed for.
 *
 * The app (SPN, internal URL, TLS settings) comes from the config the edge last pushed, saved by `connector run` as
 * <state-dir>/config.json; --spn and --url override it or stand in when there is no state dir.
 */
import { parseArgs } from 'node:util';
import { catalogue, type ErrorCode } from '../errors/catalogue.ts';
import {
  getEnctype,
  formatPrincipal,
  ticketFlagNames,
  isForwardable,
  negotiateToken,
  classifyWwwAuthenticate,
  isNtlmToken,
  type Credential,
  type KerberosClient,
} from '../kerberos/index.ts';
import { BackendPools } from '../connector/forward/backend-pool.ts';
import { backendErrorCode } from '../connector/forward/backend-errors.ts';
import {
  createKerberosClient,
  loadKerberosConfig,
  loadKeytab,
  usableEnctypes,
  type KerberosConfig,
} from '../connector/sso/kerberos-config.ts';
import { explainKerberosFailure, protocolTransitionOn, type KcdStep } from '../connector/sso/kerberos.ts';
import { readLastConfig, LAST_CONFIG_FILE } from '../connector/sso/last-config.ts';
import { SsoError } from '../connector/sso/sso-error.ts';
import type { ConnectorAppConfig } from '../tunnel/protocol.ts';

const HELP = `drawbridge connector diagnose kcd — check Kerberos constrained delegation step by step

Usage:
  drawbridge connector diagnose kcd --app APP --user USER --kerberos-config FILE [--state-dir DIR] [--spn SPN] [--url URL]

Runs, as the connector would for one request: keytab → TGT → S4U2Self (USER) → S4U2Proxy (the app's SPN) →
a GET to the app's internal URL with Authorization: Negotiate. Prints ✔ or ✖ per step with what it means and
what to do; exits 1 naming the failing step and its code (DB-KCD-…), 0 when every step passed.

  --app APP              App name or id, looked up in <state-dir>/${LAST_CONFIG_FILE} (the config the edge last pushed)
  --user USER            The domain account to delegate as: what the app's loginIdentity gives for the user
                         (alice, alice@CORP.EXAMPLE, or a UPN such as alice@example.com)
  --kerberos-config F    The connector's Kerberos config (realm, kdcs, principal, keytab), as for connector run
  --state-dir DIR        The connector's state dir (for the app's SPN and URL)
  --spn SPN              The backend's SPN (HTTP/host), instead of the app's
  --url URL              The backend URL to try, instead of the app's internal URL
  -h, --help             Show this help
`;

const STEP_LABEL: Record<KcdStep, string> = {
  keytab: 'keytab',
  tgt: 'TGT',
  s4u2self: 'S4U2Self',
  s4u2proxy: 'S4U2Proxy',
  backend: 'backend',
};

class StepFailed extends Error {
  readonly step: KcdStep;
  readonly code: ErrorCode;
  constructor(step: KcdStep, code: ErrorCode, detail: string) {
    super(detail);
    this.step = step;
    this.code = code;
  }
}

export async function runDiagnoseCommand(
  argv: string[],
  out: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  const [what, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      app: { type: 'string' },
      user: { type: 'string' },
      'state-dir': { type: 'string' },
      'kerberos-config': { type: 'string' },
      spn: { type: 'string' },
      url: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || what === '--help' || what === '-h' || what === undefined) {
    out(HELP);
    return what === undefined ? 2 : 0;
  }
  if (what !== 'kcd') {
    process.stderr.write(`drawbridge connector diagnose: unknown check "${what}" (only kcd)\n\n${HELP}`);
    return 2;
  }
  if (!values.user) {
    process.stderr.write('drawbridge connector diagnose kcd: --user is required\n');
    return 2;
  }
  if (!values['kerberos-config']) {
    process.stderr.write(
      'drawbridge connector diagnose kcd: --kerberos-config is required (the file connector run uses)\n',
    );
    return 2;
  }

  // The app: from the saved config, with --spn/--url overriding.
  let app: ConnectorAppConfig | undefined;
  if (values.app) {
    if (!values['state-dir']) {
      if (!values.spn || !values.url) {
        process.stderr.write('drawbridge connector diagnose kcd: --app needs --state-dir (or give --spn and --url)\n');
        return 2;
      }
    } else {
      const saved = await readLastConfig(values['state-dir']);
      if (!saved) {
        process.stderr.write(
          `drawbridge connector diagnose kcd: no ${LAST_CONFIG_FILE} in ${values['state-dir']}: start the connector once (it saves the config the edge pushes), or give --spn and --url\n`,
        );
        return 2;
      }
      app = saved.apps.find((a) => a.id === values.app || a.name === values.app);
      if (!app) {
        process.stderr.write(
          `drawbridge connector diagnose kcd: no app ${values.app} in the config pushed to this connector (apps: ${saved.apps.map((a) => a.name).join(', ') || 'none'})\n`,
        );
        return 2;
      }
    }
  }
  const spn = values.spn ?? (app?.sso?.mode === 'kerberos' ? app.sso.spn : undefined);
  if (!spn) {
    process.stderr.write(
      `drawbridge connector diagnose kcd: ${app ? `app ${app.name} has sso mode ${app.sso?.mode ?? 'none'}, not kerberos; give --spn` : 'give --app or --spn'}\n`,
    );
    return 2;
  }
  const url = values.url ?? app?.internalUrl;
  const user = values.user;

  out(
    `Kerberos constrained delegation for ${user} → ${spn}${app ? ` (app ${app.name}, ${app.id})` : ''}${url ? `, backend ${url}` : ''}\n`,
  );
  if (app?.sso?.mode === 'kerberos')
    out(`  the app delegates as the user's ${app.sso.loginIdentity}: pass that value as --user\n`);
  out('\n');
  const ok = (step: KcdStep, text: string): void => out(`✔ ${STEP_LABEL[step].padEnd(10)} ${text}\n`);
  const info = (text: string): void => out(`  ${''.padEnd(10)} ${text}\n`);

  let current: KcdStep = 'keytab';
  let krb: KerberosClient | undefined;
  let evidence: Credential | undefined;
  try {
    // 1. keytab
    let config: KerberosConfig;
    try {
      config = await loadKerberosConfig(values['kerberos-config']);
      const keytab = await loadKeytab(config);
      const aes = usableEnctypes(config, keytab);
      if (aes.length === 0)
        throw new SsoError(
          'DB-KCD-NO-COMMON-ENCTYPE',
          `the keytab has no AES key for ${config.principal}@${config.realm} (RC4/DES are not supported)`,
        );
      ok(
        'keytab',
        `${config.keytab}: ${aes.map(enctypeName).join(', ')} for ${config.principal}@${config.realm} (mode 0600)`,
      );
      krb = await createKerberosClient(config, keytab);
    } catch (err) {
      throw asStepFailure('keytab', err);
    }

    // 2. TGT
    current = 'tgt';
    const tgt = await krb.getTgt();
    ok(
      'tgt',
      `${formatPrincipal(tgt.client.name, tgt.client.realm)} from ${config.kdcs.join(', ')}, valid until ${tgt.endtime.toISOString()}`,
    );
    const pt = await protocolTransitionOn(krb);
    info(
      `protocol transition (S4U2Self for any user): ${pt === null ? 'unknown' : pt ? 'on' : 'OFF ("Kerberos only")'}`,
    );

    // 3. S4U2Self
    current = 's4u2self';
    evidence = await krb.s4u2self(user);
    const forwardable = isForwardable(evidence);
    ok(
      's4u2self',
      `evidence ticket for ${formatPrincipal(evidence.client.name, evidence.client.realm)}: ${ticketFlagNames(evidence.flags).join(', ')}`,
    );
    if (!forwardable)
      info(
        'the evidence ticket is NOT forwardable: S4U2Proxy will be refused (protocol transition off, or the user is sensitive)',
      );

    // 4. S4U2Proxy
    current = 's4u2proxy';
    const ticket = await krb.s4u2proxy(evidence, spn);
    ok(
      's4u2proxy',
      `service ticket ${formatPrincipal(ticket.client.name, ticket.client.realm)} → ${formatPrincipal(ticket.server.name, ticket.server.realm)}, ${enctypeName(ticket.ticket.encPart.etype)}, until ${ticket.endtime.toISOString()}`,
    );

    // 5. The backend's answer
    current = 'backend';
    if (!url) {
      out(`· ${'backend'.padEnd(10)} skipped (no --url and no app)\n`);
    } else {
      const detail = await tryBackend(krb, ticket, url, app);
      ok('backend', detail);
    }
    out('\nEvery step passed: the connector can sign this user in to the app.\n');
    return 0;
  } catch (err) {
    const failure =
      err instanceof StepFailed
        ? err
        : asStepFailure(
            current,
            krb ? await explainKerberosFailure(krb, err, { step: current, user, spn, evidence }) : err,
          );
    out(`✖ ${STEP_LABEL[failure.step].padEnd(10)} ${failure.code}: ${failure.message}\n`);
    info(`${catalogue[failure.code].title}.`);
    for (const line of wrap(`What to do: ${catalogue[failure.code].admin}`, 100)) info(line);
    out(`\nKCD fails at ${STEP_LABEL[failure.step]}: ${failure.code}\n`);
    return 1;
  }
}

function asStepFailure(step: KcdStep, err: unknown): StepFailed {
  if (err instanceof StepFailed) return err;
  if (err instanceof SsoError) return new StepFailed(step, err.code, err.message);
  return new StepFailed(step, 'DB-KCD-FAILED', (err as Error).message);
}

/** GET the backend with a fresh Negotiate header; the answer decides the last step. */
async function tryBackend(
  krb: KerberosClient,
  ticket: Credential,
  url: string,
  app: ConnectorAppConfig | undefined,
): Promise<string> {
  const target: ConnectorAppConfig = app
    ? { ...app, internalUrl: url }
    : { id: 'diagnose', name: 'diagnose', internalUrl: url, backendTimeout: 15, tlsVerify: true, backendCa: null };
  const pools = new BackendPools();
  const negotiate = krb.negotiateFor(ticket);
  const u = new URL(url);
  try {
    let res;
    try {
      res = await pools.for(target).request({
        path: `${u.pathname}${u.search}`,
        method: 'GET',
        headers: { host: u.host, authorization: negotiate.header },
        headersTimeout: 15_000,
        bodyTimeout: 15_000,
      });
    } catch (err) {
      const code = backendErrorCode(err as NodeJS.ErrnoException);
      throw new StepFailed('backend', code, `${url}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    await res.body.dump();
    const wa = res.headers['www-authenticate'];
    const token = negotiateToken(wa);
    if (res.statusCode === 401) {
      if (classifyWwwAuthenticate(wa).ntlmOnly || (token && isNtlmToken(token))) {
        throw new StepFailed(
          'backend',
          'DB-KCD-BACKEND-NTLM',
          `${url} answered 401 with WWW-Authenticate: ${String(wa)} only`,
        );
      }
      let why = `${url} answered 401 to a valid ticket for ${formatPrincipal(ticket.server.name, ticket.server.realm)}`;
      if (token)
        try {
          negotiate.verify(wa);
        } catch (err) {
          why += `: ${(err as Error).message}`;
        }
      throw new StepFailed(
        'backend',
        'DB-KCD-BACKEND-REJECTED',
        `${why} (SPN registered on another account than the one the app runs as, or the app's keytab is outdated?)`,
      );
    }
    if (token) {
      try {
        negotiate.verify(wa);
      } catch (err) {
        throw new StepFailed(
          'backend',
          'DB-KCD-MUTUAL-AUTH-FAILED',
          `${url} answered ${res.statusCode} but its Negotiate reply does not verify: ${(err as Error).message}`,
        );
      }
      return `${url} answered ${res.statusCode}; mutual authentication verified (the backend opened the ticket)`;
    }
    return `${url} answered ${res.statusCode} (it sent no Negotiate reply, so mutual authentication could not be checked)`;
  } finally {
    await pools.close();
  }
}

function enctypeName(etype: number): string {
  try {
    return getEnctype(etype).name;
  } catch {
    return `enctype ${etype}`;
  }
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
