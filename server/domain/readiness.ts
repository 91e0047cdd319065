/**
 * Readiness: whether this instance can serve requests now, for a load balancer or an orchestrator
 * to route by (`GET /api/ready`; `/api/health` only says the process answers). Each dependency is
 * checked for real — a query on the database, the schema against this build's migrations, the blob
 * store's directories — and each check has a deadline, so a hung dependency reads as not ready
 * instead of hanging the probe.
 */
import type { Db } from '../db/index.js';
import { migrationState } from '../db/migrate.js';
import type { BlobStore } from '../../storage/index.js';

export interface ReadinessCheck {
  name: 'database' | 'schema' | 'blobStore';
  ok: boolean;
  /** What is wrong, in words safe to show to anyone (no paths, no driver messages). */
  problem?: string;
  ms: number;
}

export interface ReadinessReport {
  ready: boolean;
  checks: ReadinessCheck[];
  /** The underlying errors, for the server's log only. */
  errors: { check: ReadinessCheck['name']; error: unknown }[];
}

/** How long one check may take before it counts as failed. */
export const READINESS_DEADLINE_MS = 2000;

export class Readiness {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly deadlineMs = READINESS_DEADLINE_MS,
  ) {}

  async check(): Promise<ReadinessReport> {
    const errors: ReadinessReport['errors'] = [];
    const run = async (
      name: ReadinessCheck['name'],
      probe: () => Promise<unknown>,
      whenFailed: string,
    ): Promise<ReadinessCheck> => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('deadline')), this.deadlineMs);
      });
      try {
        await Promise.race([probe(), deadline]);
        return { name, ok: true, ms: elapsed(started) };
      } catch (error) {
        errors.push({ check: name, error });
        const late = error instanceof Error && error.message === 'deadline';
        return {
          name,
          ok: false,
          problem: late ? `no answer within ${this.deadlineMs} ms` : whenFailed,
          ms: elapsed(started),
        };
      } finally {
        clearTimeout(timer);
      }
    };
    let state: { pending: string[]; unknown: string[] } | undefined;
    const [database, blobStore] = await Promise.all([
      run('database', async () => (state = await migrationState(this.db)), 'the database cannot be queried'),
      run('blobStore', () => this.blobs.probe(), 'the blob store cannot be read and written'),
    ]);
    const problem = state ? schemaProblem(state) : 'not checked: the database cannot be queried';
    const schema: ReadinessCheck = {
      name: 'schema',
      ok: problem === undefined,
      ...(problem ? { problem } : {}),
      ms: 0,
    };
    const checks = [database, schema, blobStore];
    return { ready: checks.every((c) => c.ok), checks, errors };
  }
}

/** The schema read with the database check against this build's migrations (migrate.ts). */
function schemaProblem({ pending, unknown }: { pending: string[]; unknown: string[] }): string | undefined {
  if (unknown.length > 0)
    return `the database was migrated by a newer build (${unknown.join(', ')}): upgrade this instance`;
  if (pending.length > 0) return `migrations not applied yet: ${pending.join(', ')}`;
  return undefined;
}

const elapsed = (since: number) => Math.round((performance.now() - since) * 10) / 10;
