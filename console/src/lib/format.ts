// Binary multiples, named as such: quotas are configured in GiB (DEFAULT_QUOTA=10GiB) and shown the same way.
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB". */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[i]}`;
}

export function date(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay
    ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString(undefined, {
        year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric',
        month: 'short',
        day: 'numeric',
      });
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A path in the user's own tree as people read it: "My files" for the home folder, "My files/Projects" below it. */
export function placeLabel(path: string): string {
  const p = path.replace(/\/+$/, '');
  return p ? `My files${p.startsWith('/') ? '' : '/'}${p}` : 'My files';
}

/** Date and time in a narrow column: "11/30/26, 9:53 AM" (the locale's short styles). */
export function shortDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

export function speed(bytesPerSecond: number): string {
  return `${bytes(bytesPerSecond)}/s`;
}

/** "report.pdf" → ["report", ".pdf"]; ".bashrc" → [".bashrc", ""]. */
export function splitExt(name: string): [string, string] {
  const i = name.lastIndexOf('.');
  return i > 0 ? [name.slice(0, i), name.slice(i)] : [name, ''];
}

/** "a.txt" taken → "a (1).txt", then "a (2).txt" … */
export function freeName(name: string, taken: Set<string>): string {
  const [base, ext] = splitExt(name);
  for (let i = 1; ; i++) {
    const candidate = `${base} (${i})${ext}`;
    if (!taken.has(candidate.toLowerCase())) return candidate;
  }
}

export type PreviewKind = 'image' | 'text' | 'pdf' | 'audio' | 'video' | null;

const TEXT_EXT =
  /\.(txt|md|markdown|csv|tsv|json|ya?ml|toml|ini|conf|cfg|log|xml|html?|css|s?css|less|js|mjs|cjs|ts|tsx|jsx|svelte|vue|py|rb|go|rs|java|kt|c|h|cc|cpp|hpp|cs|php|sh|bash|zsh|ps1|sql|env|gitignore|dockerfile|makefile)$/i;

export function previewKind(name: string, mime: string | null): PreviewKind {
  const m = mime ?? '';
  if (m.startsWith('image/')) return 'image';
  if (/\.(png|jpe?g|gif|webp|avif|bmp|ico|svg)$/i.test(name)) return 'image';
  if (m === 'application/pdf' || /\.pdf$/i.test(name)) return 'pdf';
  if (m.startsWith('audio/') || /\.(mp3|ogg|oga|wav|flac|m4a|opus)$/i.test(name)) return 'audio';
  if (m.startsWith('video/') || /\.(mp4|webm|ogv|mov|m4v)$/i.test(name)) return 'video';
  if (
    m.startsWith('text/') ||
    m === 'application/json' ||
    m === 'application/xml' ||
    m.includes('javascript') ||
    TEXT_EXT.test(name)
  )
    return 'text';
  return null;
}

/** How a person is shown: their display name when they chose one, else their username. */
export function personName(p: { username: string | null; displayName?: string | null } | null | undefined): string {
  return p?.displayName || p?.username || '?';
}
