/**
 * The stable name of a received share in the grantee's "Shared with me" (DESIGN.md §3). It is
 * chosen once, when the share is created, from the shared item's name, told apart from the
 * grantee's other received shares by the owner's username: "Plans", "Plans (alice)",
 * "Plans (alice 2)" (files keep their extension last: "report (alice).pdf"). Only the grantee
 * changes it later. Names computed from whatever collides at the moment would let another user
 * rename her own folder to "Plans (alice)" and take over the grantee's path (issue 9), so the
 * path a grantee knows never moves to another owner's resource.
 *
 * Pure (no I/O): share creation and the 004 migration's backfill use this one function (the
 * composition root hands it to the migrations: migration-rules.ts).
 */
import { nameKey } from './names.js';

const MAX_NAME_BYTES = 255;

/** `stem + suffix + ext`, the stem shortened (by whole code points) until it fits in 255 bytes. */
function fit(stem: string, suffix: string, ext: string): string {
  const chars = [...stem];
  let candidate = stem + suffix + ext;
  while (Buffer.byteLength(candidate, 'utf8') > MAX_NAME_BYTES && chars.length > 1) {
    chars.pop();
    candidate = chars.join('') + suffix + ext;
  }
  return candidate;
}

/** The first free name for a share of `nodeName` (owned by `ownerName`), given the keys already taken. */
export function stableShareName(
  nodeName: string,
  kind: 'file' | 'folder',
  ownerName: string,
  taken: (key: string) => boolean,
): string {
  if (!taken(nameKey(nodeName))) return nodeName;
  const dot = kind === 'file' ? nodeName.lastIndexOf('.') : -1;
  const [stem, ext] = dot > 0 ? [nodeName.slice(0, dot), nodeName.slice(dot)] : [nodeName, ''];
  for (let n = 1; ; n++) {
    const suffix = ` (${ownerName}${n > 1 ? ` ${n}` : ''})`;
    let candidate = fit(stem, suffix, ext);
    if (Buffer.byteLength(candidate, 'utf8') > MAX_NAME_BYTES) candidate = fit(nodeName, suffix, ''); // an extension too long to keep

    if (!taken(nameKey(candidate))) return candidate;
  }
}
