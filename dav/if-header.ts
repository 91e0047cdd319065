/**
 * The `If:` request header (RFC 4918 §10.4): parsed into lists of conditions (tagged or untagged,
 * state tokens and entity tags, each optionally negated) and evaluated against the lock state and
 * ETags of the resources it names. The header is true when at least one list is true; a list is
 * true when all its conditions are. A false header is 412; a malformed one 400. The state tokens
 * it names are the lock tokens the request submits (RFC 4918 §10.4.1): Drive lets a write through a
 * lock only when its token is among them.
 */
import { childPath, covers, type ActiveLock } from '../server/domain/locks.js';
import type { DavContext } from './context.js';
import { DavError } from './errors.js';
import { header } from './http.js';
import { destinationNames } from './paths.js';

export interface IfCondition {
  not: boolean;
  token?: string;
  etag?: string;
}

export interface IfList {
  /** The tagged resource as written (absolute URI or path); null for an untagged list (the request URL). */
  resource: string | null;
  conditions: IfCondition[];
}

/** Parses an If header; undefined when absent; DavError 400 when malformed. */
export function parseIf(value: string | undefined): IfList[] | undefined {
  if (value === undefined) return undefined;
  const s = value;
  let i = 0;
  const lists: IfList[] = [];
  let tag: string | null = null;
  let tagged: boolean | null = null;
  const bad = (why: string): never => {
    throw new DavError(400, `Malformed If header: ${why}`);
  };
  const ws = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const until = (end: string): string => {
    const j = s.indexOf(end, i);
    if (j < 0) bad(`missing "${end}"`);
    const out = s.slice(i, j);
    i = j + 1;
    return out;
  };
  ws();
  if (i >= s.length) bad('empty');
  while (i < s.length) {
    if (s[i] === '<') {
      // A resource tag: only in the tagged form, before one or more lists.
      if (tagged === false) bad('a resource tag after an untagged list');
      i++;
      tag = until('>').trim();
      if (tag === '') bad('empty resource tag');
      tagged = true;
      ws();
      if (s[i] !== '(') bad('a resource tag must be followed by a list');
      continue;
    }
    if (s[i] !== '(') bad(`unexpected "${s[i]}"`);
    if (tagged === null) tagged = false;
    i++;
    const conditions: IfCondition[] = [];
    for (;;) {
      ws();
      if (i >= s.length) bad('unterminated list');
      if (s[i] === ')') {
        i++;
        break;
      }
      let not = false;
      if (s.slice(i, i + 3).toLowerCase() === 'not') {
        not = true;
        i += 3;
        ws();
      }
      if (s[i] === '<') {
        i++;
        const token = until('>').trim();
        if (token === '' || /[\s<]/.test(token)) bad('malformed state token');
        conditions.push({ not, token });
      } else if (s[i] === '[') {
        i++;
        if (s.indexOf(']', i) < 0 && lists.length > 0) {
          // Cut off inside the last entity tag after complete lists: litmus (a 200-byte buffer) and
          // other clients truncate long headers; the complete lists still decide.
          return lists;
        }
        const raw = until(']').trim();
        const m = /^(?:W\/)?"([^"]*)"$/.exec(raw);
        if (!m) bad('malformed entity tag');
        conditions.push({ not, etag: m![1]! });
      } else {
        bad('expected a state token or an entity tag');
      }
    }
    if (conditions.length === 0) bad('empty list');
    lists.push({ resource: tagged ? tag : null, conditions });
    ws();
  }
  return lists;
}

/** The state tokens a header submits (those named without `Not`). */
export function submittedTokens(lists: IfList[] | undefined): string[] {
  if (!lists) return [];
  const out = new Set<string>();
  for (const l of lists) for (const c of l.conditions) if (c.token && !c.not) out.add(c.token);
  return [...out];
}

export function tokenFromHeader(value: string | undefined): string | null {
  const m = value === undefined ? null : /^\s*<([^<>\s]+)>\s*$/.exec(value);
  return m ? m[1]! : null;
}

interface ResourceState {
  etag: string | null;
  locks: ActiveLock[];
}

/** The lock state and ETag of a resource named by the request (missing resources: no ETag). */
export async function resourceState(
  c: DavContext,
  names: string[],
): Promise<ResourceState & { path: { ownerId: string; path: string } | null }> {
  const r = await c.resolve(names);
  let path: { ownerId: string; path: string } | null = null;
  try {
    if (r.node) path = await c.locks.pathOf(r.node.id);
    else if (r.parent && names.length > 0) {
      const p = await c.locks.pathOf(r.parent.id);
      path = { ownerId: p.ownerId, path: childPath(p.path, names[names.length - 1]!) };
    }
  } catch {
    path = null; // a virtual node (e.g. "Shared with me"): never locked
  }
  const locks = path ? await c.locks.around(path.ownerId, path.path, false) : [];
  return { etag: r.node?.etag ?? null, locks: path ? locks.filter((l) => covers(l, path!.path)) : [], path };
}

/** Evaluates the request's If header: throws 412 when false; returns the submitted tokens. */
export async function checkIf(c: DavContext): Promise<string[]> {
  const lists = parseIf(header(c.req, 'if'));
  if (!lists) return [];
  const states = new Map<string, Promise<ResourceState | null>>();
  const stateOf = (resource: string | null): Promise<ResourceState | null> => {
    const key = resource ?? '';
    let p = states.get(key);
    if (!p) {
      p = (async () => {
        let names: string[];
        if (resource === null) names = c.names;
        else {
          try {
            names = destinationNames(resource, {
              host: header(c.req, 'host'),
              publicUrl: c.config.publicUrl,
              basePath: c.config.basePath,
              mount: c.mount,
            });
          } catch {
            return null; // not a resource of this drive: its conditions are false
          }
        }
        return resourceState(c, names);
      })();
      states.set(key, p);
    }
    return p;
  };
  let any = false;
  for (const list of lists) {
    const st = await stateOf(list.resource);
    let ok = true;
    for (const cond of list.conditions) {
      let hit: boolean;
      if (!st) hit = false;
      else if (cond.token !== undefined) hit = st.locks.some((l) => l.token === cond.token);
      else hit = st.etag !== null && st.etag === cond.etag;
      if (hit === cond.not) {
        ok = false;
        break;
      }
    }
    if (ok) {
      any = true;
      break;
    }
  }
  if (!any) throw new DavError(412, 'The If header conditions are not met');
  return submittedTokens(lists);
}
