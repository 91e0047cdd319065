/**
 * Request XML: parsed with fast-xml-parser (no DTDs, no entity expansion beyond the five predefined
 * ones and character references), then namespace-resolved into a small element tree. Response XML
 * is built as strings by the handlers with `esc`.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { DavError } from './errors.js';

/**
 * What multistatus, lock and error bodies are sent as. RFC 4918 §8.2 allows text/xml and
 * application/xml; Apache mod_dav sends `text/xml; charset="utf-8"`, and some older clients (Windows'
 * Mini-Redirector among them) parse a body only when it says text/xml.
 */
export const XML_CONTENT_TYPE = 'text/xml; charset="utf-8"';
export const DAV_NS = 'DAV:';
export const OC_NS = 'http://owncloud.org/ns';
export const MS_NS = 'urn:schemas-microsoft-com:';

export interface XmlElement {
  ns: string;
  local: string;
  /** Attributes other than namespace declarations, by qualified name as written. */
  attrs: Record<string, string>;
  /** Prefix → namespace in scope at this element (needed to re-serialize prefixed attributes). */
  scope: Record<string, string>;
  children: XmlNode[];
}
export type XmlNode = XmlElement | string;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  htmlEntities: false,
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  cdataPropName: '#cdata',
  commentPropName: '#comment',
});

const ENTITY = /&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (_, e: string) => {
    if (e[0] !== '#') return NAMED[e]!;
    const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    if (!(cp >= 0 && cp <= 0x10ffff) || (cp >= 0xd800 && cp <= 0xdfff))
      throw new DavError(400, 'Invalid character reference');
    return String.fromCodePoint(cp);
  });
}

/** Parses a request body into its root element; malformed XML, DTDs or undeclared prefixes → 400. */
export function parseXml(body: Buffer): XmlElement {
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new DavError(400, 'DTDs are not accepted');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new DavError(400, `Malformed XML: ${valid.err.msg}`);
  let items: unknown[];
  try {
    items = parser.parse(text) as unknown[];
  } catch {
    throw new DavError(400, 'Malformed XML');
  }
  const roots = convert(items, { xml: 'http://www.w3.org/XML/1998/namespace' }).filter(
    (n): n is XmlElement => typeof n !== 'string',
  );
  if (roots.length !== 1) throw new DavError(400, 'Malformed XML: expected one root element');
  return roots[0]!;
}

function convert(items: unknown[], parentScope: Record<string, string>): XmlNode[] {
  const out: XmlNode[] = [];
  for (const item of items) {
    const obj = item as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (key === ':@' || key[0] === '?' || key === '#comment') continue;
      if (key === '#text') {
        out.push(decodeEntities(String(obj[key])));
        continue;
      }
      if (key === '#cdata') {
        const inner = obj[key] as { '#text'?: unknown }[];
        out.push(inner.map((t) => String(t['#text'] ?? '')).join(''));
        continue;
      }
      const rawAttrs = (obj[':@'] ?? {}) as Record<string, unknown>;
      const scope = { ...parentScope };
      const attrs: Record<string, string> = {};
      for (const [a, v] of Object.entries(rawAttrs)) {
        const value = decodeEntities(String(v));
        if (a === 'xmlns') scope[''] = value;
        else if (a.startsWith('xmlns:')) {
          // Namespaces in XML 1.0 §3: a prefix cannot be bound to the empty name.
          if (value === '') throw new DavError(400, `Empty namespace for prefix "${a.slice(6)}"`);
          scope[a.slice(6)] = value;
        } else attrs[a] = value;
      }
      const colon = key.indexOf(':');
      const prefix = colon >= 0 ? key.slice(0, colon) : '';
      const local = colon >= 0 ? key.slice(colon + 1) : key;
      const ns = scope[prefix];
      if (ns === undefined && prefix !== '') throw new DavError(400, `Undeclared namespace prefix "${prefix}"`);
      out.push({ ns: ns ?? '', local, attrs, scope, children: convert((obj[key] ?? []) as unknown[], scope) });
    }
  }
  return out;
}

export function elements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

export function isDav(el: XmlElement, local: string): boolean {
  return el.ns === DAV_NS && el.local === local;
}

export function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}

/** The content of an element as XML, each element carrying its own namespace declaration. */
export function serializeChildren(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? esc(c) : serializeElement(c))).join('');
}

function serializeElement(el: XmlElement): string {
  let attrs = ` xmlns="${esc(el.ns)}"`;
  const declared = new Set<string>();
  for (const [name, value] of Object.entries(el.attrs)) {
    const colon = name.indexOf(':');
    if (colon > 0) {
      const p = name.slice(0, colon);
      if (!declared.has(p) && el.scope[p] !== undefined && p !== 'xml') {
        attrs += ` xmlns:${p}="${esc(el.scope[p]!)}"`;
        declared.add(p);
      }
    }
    attrs += ` ${name}="${esc(value)}"`;
  }
  const inner = serializeChildren(el);
  return inner === '' ? `<${el.local}${attrs}/>` : `<${el.local}${attrs}>${inner}</${el.local}>`;
}

/** `<name xmlns="ns">value</name>`: how a property is written in a response. */
export function propElement(ns: string, name: string, value: string | null): string {
  const open = ns === DAV_NS ? `D:${name}` : ns === OC_NS ? `oc:${name}` : name;
  const decl = ns === DAV_NS || ns === OC_NS ? '' : ` xmlns="${esc(ns)}"`;
  return value === null || value === '' ? `<${open}${decl}/>` : `<${open}${decl}>${value}</${open}>`;
}
