/**
 * SQL for WebDAV dead properties. Each row records the bytes it stores (`bytes`: namespace, name
 * and value in UTF-8), which the domain charges to the owner's quota.
 */
import { jsonRows, perDialect } from '../dialect.js';
import { num, totalsBy, type Q } from '../index.js';

export interface PropertyRow {
  nodeId: string;
  namespace: string;
  name: string;
  /** Serialized XML content of the property element ('' when empty). */
  value: string;
}

/** The bytes one property row stores (what its `bytes` column holds). */
export function storedBytes(namespace: string, name: string, value: string): number {
  return Buffer.byteLength(namespace, 'utf8') + Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
}

const propertiesOfNodesSql = perDialect(
  (d) =>
    `SELECT node_id, namespace, name, value FROM properties WHERE node_id IN ${jsonRows('$ids')(d)} ORDER BY node_id, namespace, name`,
);

/** The properties of several nodes in one query, ordered by node, namespace and name. */
export async function propertiesOfNodes(q: Q, nodeIds: string[]): Promise<PropertyRow[]> {
  if (nodeIds.length === 0) return [];
  const rows = await q.all<{ node_id: string; namespace: string; name: string; value: string }>(
    propertiesOfNodesSql(q),
    { ids: JSON.stringify(nodeIds) },
  );
  return rows.map((r) => ({ nodeId: r.node_id, namespace: r.namespace, name: r.name, value: r.value }));
}

/** Total bytes of one node's properties. */
export async function propertyBytesOfNode(q: Q, nodeId: string): Promise<number> {
  const r = await q.get<{ b: unknown }>('SELECT COALESCE(SUM(bytes), 0) AS b FROM properties WHERE node_id = $nodeId', {
    nodeId,
  });
  return num(r?.b);
}

export async function upsertProperty(tx: Q, p: PropertyRow): Promise<void> {
  await tx.run(
    `INSERT INTO properties (node_id, namespace, name, value, bytes) VALUES ($nodeId, $ns, $name, $value, $bytes)
     ON CONFLICT (node_id, namespace, name) DO UPDATE SET value = excluded.value, bytes = excluded.bytes`,
    {
      nodeId: p.nodeId,
      ns: p.namespace,
      name: p.name,
      value: p.value,
      bytes: storedBytes(p.namespace, p.name, p.value),
    },
  );
}

export async function deleteProperty(tx: Q, nodeId: string, namespace: string, name: string): Promise<void> {
  await tx.run('DELETE FROM properties WHERE node_id = $nodeId AND namespace = $ns AND name = $name', {
    nodeId,
    ns: namespace,
    name,
  });
}

/** Copies every property of `fromId` onto `toId` (replacing same-named ones). */
export async function copyNodeProperties(tx: Q, fromId: string, toId: string): Promise<void> {
  await tx.run(
    `INSERT INTO properties (node_id, namespace, name, value, bytes) SELECT $toId, namespace, name, value, bytes FROM properties WHERE node_id = $fromId
     ON CONFLICT (node_id, namespace, name) DO UPDATE SET value = excluded.value, bytes = excluded.bytes`,
    { fromId, toId },
  );
}

/** Bytes of the properties of every node in a trashed subtree (about to be purged with it). */
export async function propertyBytesInTrash(q: Q, trashRootId: string): Promise<number> {
  const r = await q.get<{ b: unknown }>(
    'SELECT COALESCE(SUM(p.bytes), 0) AS b FROM properties p JOIN nodes n ON n.id = p.node_id WHERE n.trash_root_id = $id',
    { id: trashRootId },
  );
  return num(r?.b);
}

/** Property bytes per owner (fsck). */
export async function propertyBytesByOwner(q: Q): Promise<Map<string, number>> {
  return totalsBy(
    q,
    'SELECT n.owner_id AS k, SUM(p.bytes) AS n FROM properties p JOIN nodes n ON n.id = p.node_id GROUP BY n.owner_id',
  );
}

/** Fills `bytes` for rows stored before the column existed (migration 006), 500 rows a page in key order. */
export async function backfillPropertyBytes(tx: Q): Promise<void> {
  for (let after = ['', '', '']; ;) {
    const rows = await tx.all<{ node_id: string; namespace: string; name: string; value: string }>(
      `SELECT node_id, namespace, name, value FROM properties WHERE (node_id, namespace, name) > ($n, $ns, $name)
       ORDER BY node_id, namespace, name LIMIT 500`,
      { n: after[0], ns: after[1], name: after[2] },
    );
    for (const r of rows) {
      await tx.run('UPDATE properties SET bytes = $bytes WHERE node_id = $n AND namespace = $ns AND name = $name', {
        n: r.node_id,
        ns: r.namespace,
        name: r.name,
        bytes: storedBytes(r.namespace, r.name, r.value),
      });
    }
    if (rows.length < 500) return;
    const last = rows[rows.length - 1]!;
    after = [last.node_id, last.namespace, last.name];
  }
}
