import { runAdmin } from '../../src/cli/admin.ts';

export interface AdminCliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs `drawbridge admin …` in process against one admin API and token, with what it prints captured. */
export async function adminCli(argv: string[], adminUrl: string, token: string): Promise<AdminCliResult> {
  let out = '';
  let err = '';
  const code = await runAdmin(argv, {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: { DRAWBRIDGE_ADMIN_URL: adminUrl, DRAWBRIDGE_ADMIN_TOKEN: token },
  });
  return { code, out, err };
}
