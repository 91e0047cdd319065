/**
 * WebDAV dead properties: arbitrary (namespace, name) → XML value pairs per node, kept in the
 * `properties` table with the namespace intact. The value is the property element's content,
 * serialized as XML (namespace declarations included), so it round-trips exactly.
 */
import type { Q } from '../db/index.js';

export interface DeadProperty {
  namespace: string;
  name: string;
  /** Serialized XML content of the property element ('' when empty). */
  value: string;
}

export type PropertyChange = { op: 'set'; namespace: string; name: string; value: string } | { op: 'remove'; namespace: string; name: string };

/** Dead properties of several nodes in one query, keyed by node id. */
export async function propertiesOf(q: Q, nodeIds: string[]): Promise<Map<string, DeadProperty[]>> {
  const out = new Map<string, DeadProperty[]>();
  if (nodeIds.length === 0) return out;
  const rows = await q.all<{ node_id: string; namespace: string; name: string; value: string }>(
    `SELECT node_id, namespace, name, value FROM properties WHERE node_id IN (SELECT value FROM json_each($ids)) ORDER BY node_id, namespace, name`,
    { ids: JSON.stringify(nodeIds) },
  );
  for (const r of rows) {
    let list = out.get(r.node_id);
    if (!list) out.set(r.node_id, (list = []));
    list.push({ namespace: r.namespace, name: r.name, value: r.value });
  }
  return out;
}

/** Applies set/remove changes in document order (call inside the transaction that owns the change). */
export async function applyPropertyChanges(tx: Q, nodeId: string, changes: PropertyChange[]): Promise<void> {
  for (const c of changes) {
    if (c.op === 'set') {
      await tx.run(
        `INSERT INTO properties (node_id, namespace, name, value) VALUES ($nodeId, $ns, $name, $value)
         ON CONFLICT (node_id, namespace, name) DO UPDATE SET value = excluded.value`,
        { nodeId, ns: c.namespace, name: c.name, value: c.value },
      );
    } else {
      await tx.run('DELETE FROM properties WHERE node_id = $nodeId AND namespace = $ns AND name = $name', { nodeId, ns: c.namespace, name: c.name });
    }
  }
}

/** Copies the dead properties of `fromId` onto `toId` (COPY keeps them, RFC 4918 §9.8.2). */
export async function copyProperties(tx: Q, fromId: string, toId: string): Promise<void> {
  await tx.run(
    `INSERT INTO properties (node_id, namespace, name, value) SELECT $toId, namespace, name, value FROM properties WHERE node_id = $fromId
     ON CONFLICT (node_id, namespace, name) DO UPDATE SET value = excluded.value`,
    { fromId, toId },
  );
}
