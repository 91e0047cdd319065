/**
 * Seeds a stopped server's database straight through SQL, for `npm run bench:flat`: N files, spread
 * evenly over the given owners, 10 files to a folder and 100 folders to a group folder under each
 * owner's root (root → "Group 0001" → "Folder 000001" → "file 0000001-0.bin"); plus the children of
 * the measured user's 1,000-entry and 100-file folders.
 *
 * Every new row is a copy of a template row that the server itself created (a folder made with
 * MKCOL, a 4 KiB file uploaded through the API): only what places a node is set here (id, owner,
 * parent, name, name key, etag), every other column — whatever the schema holds today — comes from
 * the template. So every seeded file shares the template's real blob; the blob's ref count and each
 * owner's used_bytes are raised to match (fsck stays clean). The rows are generated inside SQLite
 * (INSERT … SELECT over a numbers table, one transaction), which takes ~1 min for 1,000,000 files;
 * the schema's own triggers run for each row as they would in service, and the search index takes
 * in the new names as the server's backlog indexing would.
 */
import fs from 'node:fs';
import { openSqliteFile, type SqliteFile } from './sqlite-file.js';

export interface SeedPlan {
  dbFile: string;
  /** Users' ids, in order; the files are split evenly among them. */
  owners: string[];
  files: number;
  /** Node ids of the templates: a folder and a file (with content). */
  folderTemplate: string;
  fileTemplate: string;
  /** Folder ids → how many files to add to each (copies of the file template). */
  fill: Record<string, number>;
}

/** A random version-4 UUID, in SQL (the ids the server makes are `crypto.randomUUID()`). */
const UUID = `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
  substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`;

async function columns(db: SqliteFile, table: string): Promise<string[]> {
  return (await db.all<{ name: string }>(`PRAGMA table_info(${table})`)).map((c) => c.name);
}

/** A string as an SQL literal (the ids here come from the server, but quote them anyway). */
const lit = (v: string) => `'${v.replace(/'/g, "''")}'`;

/** Where a copy goes: SQL for its id, owner, parent and (ASCII) name; its name key is `lower(name)`. */
interface Placement {
  id: string;
  owner: string;
  parent: string;
  name: string;
}

/** `INSERT INTO nodes (every column) SELECT …` copying template `t`, which `from` must bind. */
function copyNodes(cols: string[], p: Placement, from: string): string {
  for (const c of ['id', 'owner_id', 'parent_id', 'name', 'name_key'])
    if (!cols.includes(c)) throw new Error(`nodes has no ${c} column: the seeding needs updating`);
  const placed: Record<string, string> = {
    id: p.id,
    owner_id: p.owner,
    parent_id: p.parent,
    name: p.name,
    name_key: `lower(${p.name})`,
  };
  const exprs = cols.map((c) => placed[c] ?? (c === 'etag' ? UUID : `t.${c}`));
  return `INSERT INTO nodes (${cols.join(', ')}) SELECT ${exprs.join(', ')} FROM ${from}`;
}

export async function seedFlat(plan: SeedPlan): Promise<{ seconds: number; rows: number }> {
  const t0 = performance.now();
  const db = await openSqliteFile(plan.dbFile);
  // A scratch load: no need to survive a power cut mid-seed; a big page cache for the index builds.
  await db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144');
  const cols = await columns(db, 'nodes');
  const perOwner = Math.ceil(plan.files / plan.owners.length);
  const extra = Object.values(plan.fill).reduce((a, b) => a + b, 0);
  const seqMax = Math.max(perOwner, extra, 1000);
  let rows = 0;
  await db.exec('BEGIN');
  try {
    await db.exec(`CREATE TEMP TABLE seq (i INTEGER PRIMARY KEY);
      INSERT INTO seq WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ${seqMax - 1}) SELECT i FROM c;
      CREATE TEMP TABLE seed_owner (k INTEGER PRIMARY KEY, id TEXT NOT NULL, root_id TEXT NOT NULL, files INTEGER NOT NULL);
      CREATE TEMP TABLE seed_group (id TEXT PRIMARY KEY, owner_id TEXT, parent_id TEXT, k INTEGER, g INTEGER);
      CREATE TEMP TABLE seed_folder (id TEXT PRIMARY KEY, owner_id TEXT, parent_id TEXT, f INTEGER, files INTEGER)`);
    for (const [k, id] of plan.owners.entries()) {
      const files = Math.floor(plan.files / plan.owners.length) + (k < plan.files % plan.owners.length ? 1 : 0);
      const n = await db.run(
        'INSERT INTO seed_owner SELECT ?, id, root_id, ? FROM users WHERE id = ? AND root_id IS NOT NULL',
        [k, files, id],
      );
      if (n !== 1) throw new Error(`user ${id} (or its root folder) not found`);
    }
    // Groups of 100 folders, folders of 10 files, per owner.
    await db.run(`INSERT INTO seed_group SELECT ${UUID}, o.id, o.root_id, o.k, s.i
      FROM seed_owner o JOIN seq s ON s.i < (o.files + 999) / 1000`);
    await db.run(`INSERT INTO seed_folder SELECT ${UUID}, g.owner_id, g.id, g.g * 100 + s.i,
        min(10, o.files - (g.g * 100 + s.i) * 10)
      FROM seed_group g JOIN seed_owner o ON o.k = g.k JOIN seq s ON s.i < 100 AND (g.g * 100 + s.i) * 10 < o.files`);
    const copyFolders = (tmp: string, name: string) =>
      db.run(
        copyNodes(
          cols,
          { id: 'x.id', owner: 'x.owner_id', parent: 'x.parent_id', name },
          `${tmp} x, nodes t WHERE t.id = ${lit(plan.folderTemplate)}`,
        ),
      );
    rows += await copyFolders('seed_group', "printf('Group %04d', x.g + 1)");
    rows += await copyFolders('seed_folder', "printf('Folder %06d', x.f + 1)");
    const fileT = `t.id = ${lit(plan.fileTemplate)}`;
    rows += await db.run(
      copyNodes(
        cols,
        { id: UUID, owner: 'x.owner_id', parent: 'x.id', name: "printf('file %07d-%d.bin', x.f + 1, s.i)" },
        `seed_folder x JOIN seq s ON s.i < x.files, nodes t WHERE ${fileT}`,
      ),
    );
    // The measured user's big folders.
    for (const [folder, n] of Object.entries(plan.fill))
      rows += await db.run(
        copyNodes(
          cols,
          { id: UUID, owner: 'p.owner_id', parent: 'p.id', name: "printf('entry %04d.bin', s.i)" },
          `seq s, nodes p, nodes t WHERE s.i < ${n} AND p.id = ${lit(folder)} AND ${fileT}`,
        ),
      );
    await chargeCopies(db, plan, cols);
    // The new names are the search index's backlog (021-search-backlog.ts): index them as the server
    // does in its batches, so that it is measured settled, not while it catches up.
    await db.exec(`INSERT INTO nodes_fts (rowid, name_key)
        SELECT rowid, name_key FROM nodes WHERE rowid > (SELECT indexed_to FROM search_mark);
      UPDATE search_mark SET indexed_to = (SELECT MAX(rowid) FROM nodes)`);
    await db.exec('COMMIT');
  } catch (err) {
    await db.exec('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await db.close(); // checkpoints the WAL: the server starts on a settled file
  }
  // Seeded with synchronous=OFF, the file's pages are still being written back by the OS: a
  // measurement that fsyncs meanwhile (the COPY's commit) would wait for that writeback, a cost of
  // the seeding and not of the request (a 100-file COPY: ~10 ms settled, ~15 ms during the writeback).
  const fd = fs.openSync(plan.dbFile, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { seconds: (performance.now() - t0) / 1000, rows };
}

/** Every seeded file is one more reference to the template's blob, and its size more used bytes. */
async function chargeCopies(db: SqliteFile, plan: SeedPlan, cols: string[]): Promise<void> {
  const fileT = lit(plan.fileTemplate);
  const [t] = await db.all<{ size: number }>(`SELECT size FROM nodes WHERE id = ${fileT}`);
  if (!t) throw new Error('the file template is gone');
  const extra = Object.values(plan.fill).reduce((a, b) => a + b, 0);
  if (cols.includes('content_hash') && (await columns(db, 'blobs')).includes('ref_count'))
    await db.run(
      `UPDATE blobs SET ref_count = ref_count + ? WHERE hash = (SELECT content_hash FROM nodes WHERE id = ${fileT})`,
      [plan.files + extra],
    );
  await db.run(
    'UPDATE users SET used_bytes = used_bytes + ? * (SELECT o.files FROM seed_owner o WHERE o.id = users.id) WHERE id IN (SELECT id FROM seed_owner)',
    [t.size],
  );
  for (const [folder, n] of Object.entries(plan.fill))
    await db.run('UPDATE users SET used_bytes = used_bytes + ? WHERE id = (SELECT owner_id FROM nodes WHERE id = ?)', [
      t.size * n,
      folder,
    ]);
}
