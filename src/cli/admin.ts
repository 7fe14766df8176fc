export async function runAdmin(_argv: string[]): Promise<number> {
  process.stderr.write('drawbridge admin: not wired yet\n');
  return 1;
}
