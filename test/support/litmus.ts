/** Running litmus (the WebDAV conformance suite, Debian package `litmus`) and reading its verdict. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';

interface SuiteResult {
  run: number;
  passed: number;
  failed: number;
  skipped: number;
}

/** Parses litmus output: "<- summary for `basic': of 16 tests run: 16 passed, 0 failed." and "-> N tests were skipped.". */
export function parseLitmus(out: string): { suites: Map<string, SuiteResult>; failures: string[] } {
  const suites = new Map<string, SuiteResult>();
  const failures: string[] = [];
  let current = '';
  for (const rawLine of out.split('\n')) {
    const line = rawLine.slice(rawLine.lastIndexOf('\r') + 1);
    const start = /^-> running `([^']+)'/.exec(line);
    if (start) current = start[1]!;
    const sum = /^<- summary for `([^']+)': of (\d+) tests run: (\d+) passed, (\d+) failed/.exec(line);
    if (sum) suites.set(sum[1]!, { run: Number(sum[2]), passed: Number(sum[3]), failed: Number(sum[4]), skipped: 0 });
    const skip = /^-> (\d+) tests? (were|was) skipped/.exec(line);
    if (skip && suites.has(current)) suites.get(current)!.skipped = Number(skip[1]);
    if (/\bFAIL\b/.test(line)) failures.push(`${current}: ${line.trim()}`);
    if (/\bSKIPPED\b/.test(line)) failures.push(`${current}: ${line.trim()}`);
  }
  return { suites, failures };
}

/** Runs the given litmus suites against `url` and expects every test of each to run and pass. */
export async function expectLitmusPasses(
  url: string,
  user: string,
  password: string,
  names: string[],
): Promise<{ suites: Map<string, SuiteResult>; out: string }> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-litmus-'));
  const out = await new Promise<string>((resolve) => {
    execFile(
      'litmus',
      ['-k', url, user, password],
      { cwd, env: { ...process.env, TESTS: names.join(' ') }, timeout: 150_000 },
      (_err, stdout, stderr) => resolve(stdout + stderr),
    );
  });
  fs.rmSync(cwd, { recursive: true, force: true });
  const { suites, failures } = parseLitmus(out);
  expect(failures, out).to.deep.equal([]);
  for (const s of names) {
    const r = suites.get(s);
    expect(r, `suite ${s} did not run:\n${out}`).to.not.equal(undefined);
    expect(r!.failed, s).to.equal(0);
    expect(r!.skipped, s).to.equal(0);
    expect(r!.passed, s).to.equal(r!.run).and.be.above(0);
  }
  return { suites, out };
}
