/**
 * WebDAV dead properties: arbitrary (namespace, name) → XML value pairs per node, kept with the
 * namespace intact. The value is the property element's content, serialized as XML (namespace
 * declarations included), so it round-trips exactly.
 *
 * They are data the user stores, so they count toward the owner's quota like file bytes (released
 * when the node is purged), and one resource's properties are capped (`maxBytes`): without that,
 * properties were a way to store megabytes outside the quota.
 */
import type { Q } from '../db/index.js';
import {
  copyNodeProperties,
  deleteProperty,
  propertiesOfNodes,
  propertyBytesOfNode,
  upsertProperty,
} from '../db/repos/properties.js';
import { DomainError } from './errors.js';
import { reserveBytes } from './quota.js';

export interface DeadProperty {
  namespace: string;
  name: string;
  /** Serialized XML content of the property element ('' when empty). */
  value: string;
}

export type PropertyChange =
  { op: 'set'; namespace: string; name: string; value: string } | { op: 'remove'; namespace: string; name: string };

/** Dead properties of several nodes in one query, keyed by node id. */
export async function propertiesOf(q: Q, nodeIds: string[]): Promise<Map<string, DeadProperty[]>> {
  const out = new Map<string, DeadProperty[]>();
  for (const r of await propertiesOfNodes(q, nodeIds)) {
    let list = out.get(r.nodeId);
    if (!list) out.set(r.nodeId, (list = []));
    list.push({ namespace: r.namespace, name: r.name, value: r.value });
  }
  return out;
}

/**
 * Applies set/remove changes in document order, inside the transaction that owns the change, and
 * charges the owner the difference in bytes. Throws quota_exceeded when the node's properties would
 * pass `maxBytes` or the owner's quota; the caller's transaction then rolls every change back.
 */
export async function applyPropertyChanges(
  tx: Q,
  node: { id: string; ownerId: string },
  changes: PropertyChange[],
  maxBytes: number,
): Promise<void> {
  const before = await propertyBytesOfNode(tx, node.id);
  for (const c of changes) {
    if (c.op === 'set')
      await upsertProperty(tx, { nodeId: node.id, namespace: c.namespace, name: c.name, value: c.value });
    else await deleteProperty(tx, node.id, c.namespace, c.name);
  }
  const after = await propertyBytesOfNode(tx, node.id);
  if (after > before && after > maxBytes) {
    throw new DomainError('quota_exceeded', `The properties of one item can take at most ${maxBytes} bytes`, {
      needed: after,
      perItemLimit: maxBytes,
    });
  }
  await reserveBytes(tx, node.ownerId, after - before);
}

/** Copies the dead properties of `fromId` onto `to` (COPY keeps them, RFC 4918 §9.8.2), charged to its owner. */
export async function copyProperties(tx: Q, fromId: string, to: { id: string; ownerId: string }): Promise<void> {
  const before = await propertyBytesOfNode(tx, to.id);
  await copyNodeProperties(tx, fromId, to.id);
  await reserveBytes(tx, to.ownerId, (await propertyBytesOfNode(tx, to.id)) - before);
}
