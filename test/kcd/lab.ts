// The KCD lab for tests: a real Samba AD domain controller (realm CORP.TEST)
// with Kerberos constrained delegation set up, a Negotiate-only Apache and an
// NTLM-only Apache, all on 127.0.0.1 (test/fixtures/kcd-lab/lab.sh does the work).
//
//   const lab = await startLab();   // install + provision (first time) + start; returns lab.json
//   ...
//   await stopLab();                // release our lease; the last holder stops the daemons
//
// Parallel test files share one lab: each startLab() takes a lease (the test
// process's PID) and stopLab() stops the daemons only when no other live lease
// is left. Every `up` a test runs holds that same lease (never "manual"), and a
// detached `lab.sh watch PID` releases it should the process die before its
// after hook. KCD_LAB_KEEP=1 keeps the lab running after the tests (a quick
// edit-test loop); KCD_LAB_DIR moves it (default /tmp/drawbridge-kcd-lab).
// It needs root on Debian (apt-get, Samba, port 88): tests skip otherwise, or
// with KCD_LAB_SKIP=1 (see labUnavailable()).
import { execFile, spawn } from 'node:child_process';
import { open, readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const LAB_SCRIPT = fileURLToPath(new URL('../fixtures/kcd-lab/lab.sh', import.meta.url));

/** Where the lab lives: $KCD_LAB_DIR or /tmp/drawbridge-kcd-lab. */
export function labDir(): string {
  return process.env.KCD_LAB_DIR ?? '/tmp/drawbridge-kcd-lab';
}

export type LabUser = {
  /** "alice@CORP.TEST" */
  principal: string;
  password?: string;
  /** "sensitive and cannot be delegated" (userAccountControl NOT_DELEGATED) */
  notDelegated?: boolean;
  disabled?: boolean;
};

export type LabServiceAccount = {
  /** "connector@CORP.TEST" */
  principal: string;
  /** "HTTP/connector.corp.test" */
  spn: string;
  /** 0600, root */
  keytab: string;
  /** TRUSTED_TO_AUTH_FOR_DELEGATION: may do S4U2Self for any user. */
  protocolTransition: boolean;
  /** msDS-AllowedToDelegateTo */
  allowedToDelegateTo: string[];
};

export type LabHttpServer = {
  /** The name to send in Host (and, for the app, the host part of its SPN). */
  host: string;
  /** Where it listens: always 127.0.0.1. */
  address: string;
  port: number;
  /** "http://app.corp.test:18080/": connect to address:port, send Host. */
  url: string;
};

/** The contents of $KCD_LAB_DIR/lab.json, written by `lab.sh up`. */
export type LabInfo = {
  dir: string;
  /** The MIT krb5.conf for the realm (KDC pinned to 127.0.0.1, no DNS). */
  krb5Config: string;
  /** "CORP.TEST" */
  realm: string;
  kdc: { host: string; port: number };
  users: { alice: LabUser; bob: LabUser; dave: LabUser; unknown: LabUser };
  /** The connector: protocol transition on, may delegate to the app. */
  connector: LabServiceAccount;
  /** Like the connector but without protocol transition ("Kerberos only"). */
  connectorKerberosOnly: LabServiceAccount;
  /** The Negotiate-only Apache; echoes REMOTE_USER in the body and X-Remote-User. */
  app: LabHttpServer & { spn: string; principal: string; keytab: string };
  /** Answers every request with 401 and only "WWW-Authenticate: NTLM". */
  ntlm: LabHttpServer;
  /** Registered, but in no delegation list. */
  otherSpn: string;
  /** Registered nowhere. */
  unknownSpn: string;
  /** Simple binds allowed without TLS (lab only). */
  ldap: { url: string; baseDn: string; bindDn: string; password: string };
  pids: { samba: number; apacheApp: number; apacheNtlm: number };
  logs: { samba: string; apacheApp: string; apacheNtlm: string };
};

/** RFC 4120 KRB-ERROR codes this lab's KDC answers with. */
export const KDC_ERRORS = {
  KDC_ERR_C_PRINCIPAL_UNKNOWN: 6,
  KDC_ERR_S_PRINCIPAL_UNKNOWN: 7,
  KDC_ERR_POLICY: 12,
  KDC_ERR_BADOPTION: 13,
} as const;
export type KdcErrorName = keyof typeof KDC_ERRORS;

export const FAILURE_MODE_NAMES = [
  'delegation-not-allowed',
  'spn-unknown',
  'user-unknown',
  'protocol-transition-off',
  'user-not-delegated',
  'user-disabled',
] as const;
export type FailureModeName = (typeof FAILURE_MODE_NAMES)[number];

/** One way constrained delegation fails, as this KDC (Samba 4.17, Heimdal) reports it. */
export type FailureMode = {
  name: FailureModeName;
  description: string;
  /** Which service account asks (its keytab gets the TGT). */
  service: LabServiceAccount;
  /** The user to impersonate: "alice", "nosuchuser"... */
  user: string;
  /** The SPN to delegate to. */
  spn: string;
  /** The exchange the KDC refuses. */
  failsAt: 'S4U2Self' | 'S4U2Proxy';
  error: KdcErrorName;
  code: number;
  /** What the Samba KDC writes in its log (reason=...). */
  kdcReason: string;
};

/** Every failure the KCD tests must tell apart, with what the lab's KDC says. */
export function failureModes(lab: LabInfo): FailureMode[] {
  const appSpn = lab.app.spn;
  const mode = (m: Omit<FailureMode, 'code'>): FailureMode => ({ ...m, code: KDC_ERRORS[m.error] });
  return [
    mode({
      name: 'delegation-not-allowed',
      description: `${lab.otherSpn} is not in the connector's delegation list`,
      service: lab.connector,
      user: 'alice',
      spn: lab.otherSpn,
      failsAt: 'S4U2Proxy',
      error: 'KDC_ERR_BADOPTION',
      kdcReason: 'Constrained delegation not allowed',
    }),
    mode({
      name: 'spn-unknown',
      description: `${lab.unknownSpn} is registered nowhere`,
      service: lab.connector,
      user: 'alice',
      spn: lab.unknownSpn,
      failsAt: 'S4U2Proxy',
      error: 'KDC_ERR_S_PRINCIPAL_UNKNOWN',
      kdcReason: 'Service principal unknown',
    }),
    mode({
      name: 'user-unknown',
      description: 'the user does not exist',
      service: lab.connector,
      user: lab.users.unknown.principal.split('@')[0],
      spn: appSpn,
      failsAt: 'S4U2Self',
      error: 'KDC_ERR_C_PRINCIPAL_UNKNOWN',
      kdcReason: 'S4U2Self principal to impersonate not found',
    }),
    mode({
      name: 'protocol-transition-off',
      description: 'the service may delegate but not do protocol transition ("Kerberos only")',
      service: lab.connectorKerberosOnly,
      user: 'alice',
      spn: appSpn,
      failsAt: 'S4U2Proxy',
      error: 'KDC_ERR_BADOPTION',
      kdcReason: 'Missing forwardable flag on ticket for constrained delegation',
    }),
    mode({
      name: 'user-not-delegated',
      description: 'bob is "sensitive and cannot be delegated"',
      service: lab.connector,
      user: 'bob',
      spn: appSpn,
      failsAt: 'S4U2Proxy',
      error: 'KDC_ERR_BADOPTION',
      kdcReason: 'Missing forwardable flag on ticket for constrained delegation',
    }),
    mode({
      name: 'user-disabled',
      description: 'dave is disabled',
      service: lab.connector,
      user: 'dave',
      spn: appSpn,
      failsAt: 'S4U2Self',
      error: 'KDC_ERR_POLICY',
      kdcReason: 'Principal may not act as client',
    }),
  ];
}

/** Why the lab cannot run here (tests skip with it), or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (process.env.KCD_LAB_SKIP === '1') return 'KCD_LAB_SKIP=1';
  if (process.platform !== 'linux') return 'the KCD lab needs Linux (Debian)';
  if (process.getuid?.() !== 0) return 'the KCD lab needs root (apt-get, a Samba DC, port 88)';
  return undefined;
}

/** Environment for MIT tools against the lab: KRB5_CONFIG, plus `extra`. */
export function labEnv(lab: LabInfo, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, KRB5_CONFIG: lab.krb5Config, ...extra };
}

/** Whether this process may hold a lease: set before `up` runs, since an `up` that fails may have taken it. */
let leased = false;
/** Whether a `lab.sh watch` for our lease runs. */
let watching = false;

/**
 * Run lab.sh with its progress (stderr) copied to our stderr, each line
 * prefixed; resolves with its stdout, rejects with the exit code and the tail
 * of the progress. An `up` or `selftest` takes this process's lease (an `up`
 * without KCD_LAB_LEASE would take the "manual" one, which keeps the lab up
 * after the tests): stopLab() releases it.
 */
export function runLabScript(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const takesLease = args[0] === 'up' || args[0] === 'selftest';
  if (takesLease) {
    env = { ...env, KCD_LAB_LEASE: String(process.pid) };
    leased = true;
  }
  const settled = new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [LAB_SCRIPT, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let progress = '';
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      progress = (progress + d).slice(-4000);
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) process.stderr.write(`# ${line}\n`);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (partial) process.stderr.write(`# ${partial}\n`);
      if (code === 0) resolve(stdout);
      else reject(new Error(`lab.sh ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${progress}`));
    });
  });
  // The watcher ends as soon as it sees no lease: start it once `up` has written ours.
  if (takesLease && !watching && process.env.KCD_LAB_KEEP !== '1') {
    watching = true;
    settled.then(watchLease, watchLease);
  }
  return settled;
}

/** `lab.sh watch <our pid>`, detached: releases our lease if we die before stopLab() (killed, timed out). */
function watchLease(): void {
  const watcher = spawn('bash', [LAB_SCRIPT, 'watch', String(process.pid)], { detached: true, stdio: 'ignore' });
  watcher.on('error', (err) => process.stderr.write(`# kcd lab: lab.sh watch did not start: ${err.message}\n`));
  watcher.unref();
}

/** Read lab.json of a running lab (does not start anything). */
export async function readLabInfo(): Promise<LabInfo> {
  return JSON.parse(await readFile(`${labDir()}/lab.json`, 'utf8')) as LabInfo;
}

let started: Promise<LabInfo> | undefined;

/**
 * Bring the lab up (apt-get the packages if missing, provision the domain the
 * first time, start the daemons; quick when it already runs) and return
 * lab.json. Once per process; the first call takes a lease for this process.
 */
export function startLab(): Promise<LabInfo> {
  started ??= (async () => {
    const t0 = performance.now();
    await runLabScript(['install']);
    await runLabScript(['up']);
    process.stderr.write(`# kcd lab ready in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    return readLabInfo();
  })();
  started.catch(() => (started = undefined));
  return started;
}

/**
 * Release this process's lease; when no other live process holds one the
 * daemons stop (the domain stays provisioned: the next start takes seconds).
 * KCD_LAB_KEEP=1 leaves everything running.
 */
export async function stopLab(): Promise<void> {
  started = undefined;
  if (!leased || process.env.KCD_LAB_KEEP === '1') return;
  leased = false;
  watching = false; // the watcher ends once the lease is gone; a later startLab() needs a new one
  await runLabScript(['release', String(process.pid)]);
}

export type CommandResult = { code: number; stdout: string; stderr: string };

/** Run a command (MIT tools, curl) without a shell; never rejects on a non-zero exit. */
export function run(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------- MIT reference tools

/** kinit with a service account's keytab into `ccache` ("FILE:/path"). */
export async function mitKinit(lab: LabInfo, account: LabServiceAccount, ccache: string): Promise<void> {
  const r = await run('kinit', ['-k', '-t', account.keytab, account.principal], labEnv(lab, { KRB5CCNAME: ccache }));
  if (r.code !== 0) throw new Error(`kinit -k -t ${account.keytab} ${account.principal}: ${r.stderr.trim()}`);
}

export type MitS4uResult = {
  /** 0 on success, else the KRB-ERROR code the KDC answered (-1 when none was seen). */
  code: number;
  /** kvno's own message. */
  message: string;
};

/**
 * MIT `kvno -I|-U user -P spn` with the TGT in `ccache`: S4U2Self for the user,
 * then S4U2Proxy to the SPN. `-I` sends a plain S4U2Self (what Drawbridge does);
 * `-U` treats the user as an enterprise name and first probes it with an AS-REQ.
 * The KRB-ERROR code is read from the client trace (com_err -1765328384 + code),
 * skipping the routine PREAUTH_REQUIRED (25). With `outCache` the delegated
 * ticket is stored there (a cache whose default principal is the user).
 */
export async function mitKvnoS4u(
  lab: LabInfo,
  ccache: string,
  user: string,
  spn: string,
  options: { flag?: '-I' | '-U'; outCache?: string; tracePath: string },
): Promise<MitS4uResult> {
  const args = [options.flag ?? '-I', user, '-P'];
  args.push(...(options.outCache ? ['--out-cache', options.outCache] : ['--no-store']), spn);
  const r = await run('kvno', args, labEnv(lab, { KRB5CCNAME: ccache, KRB5_TRACE: options.tracePath }));
  const message = (r.stdout + r.stderr).trim();
  if (r.code === 0) return { code: 0, message };
  const trace = await readFile(options.tracePath, 'utf8').catch(() => '');
  let code = -1;
  for (const m of trace.matchAll(/(?:Got cred;|Received error from KDC:) (-17653283\d\d)/g)) {
    const n = Number(m[1]) + 1765328384;
    if (n !== 0 && n !== 25) code = n;
  }
  return { code, message };
}

// ---------------------------------------------------------------- the KDC's log

/** Size of the Samba log now: pass it to kdcRefusals() after a request. */
export async function kdcLogSize(lab: LabInfo): Promise<number> {
  return (await stat(lab.logs.samba)).size;
}

/**
 * The refusals the Samba KDC logged after byte `offset` (routine
 * PREAUTH_REQUIRED skipped), e.g. "TGS-REQ ERR_BADOPTION ipv4:… connector@CORP.TEST
 * HTTP/other.corp.test@CORP.TEST … reason=Constrained delegation not allowed".
 * Other test files may use the KDC at the same time, so look for yours: this
 * waits (up to a second) for a line that contains every string of `wanted`.
 */
export async function kdcRefusals(lab: LabInfo, offset: number, wanted: readonly string[] = []): Promise<string[]> {
  let lines: string[] = [];
  for (let attempt = 0; attempt < 10; attempt++) {
    const fh = await open(lab.logs.samba, 'r');
    try {
      const { size } = await fh.stat();
      const chunk = Buffer.alloc(Math.max(0, size - offset));
      await fh.read(chunk, 0, chunk.length, offset);
      lines = [...chunk.toString('utf8').matchAll(/(?:AS|TGS)-REQ ERR_[A-Z_]+ .*/g)]
        .map((m) => m[0])
        .filter((l) => !l.includes('ERR_PREAUTH_REQUIRED'));
    } finally {
      await fh.close();
    }
    if (lines.some((l) => wanted.every((w) => l.includes(w)))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return lines;
}
