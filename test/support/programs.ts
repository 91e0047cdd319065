/** External programs the tests drive (Debian packages): present or not, and the printed skip when not. */
import { spawnSync } from 'node:child_process';

/** True when `cmd` runs (asked for its version with `versionArg`). */
export const installed = (cmd: string, versionArg = '--version'): boolean => !spawnSync(cmd, [versionArg]).error;

/** Skips the test or hook, saying why, when `cmd` is not installed (`pkg`: its Debian package). */
export function skipWithout(ctx: Mocha.Context, cmd: string, versionArg = '--version', pkg = cmd): void {
  if (installed(cmd, versionArg)) return;
  console.log(`      skipped: ${cmd} is not installed (apt-get install ${pkg})`);
  ctx.skip();
}
