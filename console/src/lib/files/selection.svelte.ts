/**
 * Which items of a folder listing are selected, the anchor of a shift-range and the keyboard
 * cursor: the rules of a desktop file manager (click, ctrl-click, shift-click, arrows, Home/End).
 */
import { SvelteSet } from 'svelte/reactivity';
import type { Node } from '$lib/types';

export class Selection {
  readonly ids = new SvelteSet<string>();
  anchor = $state(-1);
  cursor = $state(-1);

  constructor(private readonly items: () => Node[]) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }

  clear(): void {
    this.ids.clear();
  }

  reset(): void {
    this.ids.clear();
    this.anchor = this.cursor = -1;
  }

  /** Exactly the item at `i`, which becomes the anchor and the cursor. */
  only(i: number): void {
    const n = this.items()[i];
    this.ids.clear();
    if (n) this.ids.add(n.id);
    this.anchor = this.cursor = i;
  }

  /** Selects the items from the anchor to `i` (adding to the selection with `extend`). */
  range(i: number, extend = false): void {
    const items = this.items();
    if (this.anchor < 0) this.anchor = Math.max(0, this.cursor);
    if (!extend) this.ids.clear();
    const [a, b] = this.anchor < i ? [this.anchor, i] : [i, this.anchor];
    for (let k = a; k <= b; k++) this.ids.add(items[k]!.id);
  }

  toggle(i: number): void {
    const n = this.items()[i]!;
    if (this.ids.has(n.id)) this.ids.delete(n.id);
    else this.ids.add(n.id);
    this.anchor = this.cursor = i;
  }

  /** A mouse click on item `i`: plain selects it alone, ctrl/⌘ toggles it, shift selects a range. */
  click(e: MouseEvent, i: number): void {
    if (e.shiftKey && this.anchor >= 0) this.range(i, e.ctrlKey || e.metaKey);
    else if (e.ctrlKey || e.metaKey) this.toggle(i);
    else this.only(i);
    this.cursor = i;
  }

  /** Everything, or nothing when everything is selected already. */
  all(): void {
    const items = this.items();
    if (this.ids.size === items.length) this.ids.clear();
    else for (const n of items) this.ids.add(n.id);
  }

  /** Drops ids that are no longer listed (after a refresh). */
  prune(): void {
    const listed = new Set(this.items().map((n) => n.id));
    for (const id of [...this.ids]) if (!listed.has(id)) this.ids.delete(id);
  }

  /**
   * Moves the cursor with the arrow keys, Home and End (Shift extends, Ctrl/⌘ moves alone) and
   * selects everything with Ctrl/⌘+A. `columns` is how many items a row of the view shows.
   * Returns the index to bring into view, or null when the key is not a navigation key.
   */
  navigate(e: KeyboardEvent, columns: number, grid: boolean): number | null {
    const items = this.items();
    const mod = e.ctrlKey || e.metaKey;
    if (e.key === 'a' && mod) {
      e.preventDefault();
      for (const x of items) this.ids.add(x.id);
      return null;
    }
    const horizontal = grid ? (e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0) : 0;
    const step = e.key === 'ArrowDown' ? columns : e.key === 'ArrowUp' && !e.altKey ? -columns : horizontal;
    const edge = e.key === 'Home' ? 0 : e.key === 'End' ? items.length - 1 : null;
    if (!step && edge === null) return null;
    e.preventDefault();
    if (!items.length) return null;
    const from = this.cursor < 0 ? (step > 0 ? -1 : items.length) : this.cursor;
    const i = edge ?? Math.min(items.length - 1, Math.max(0, from + step));
    if (e.shiftKey && edge === null) this.range(i);
    else if (!mod || edge !== null) this.only(i);
    this.cursor = i;
    return i;
  }
}
