/** The mouse and drag events of one listed item (a list row or a grid tile), wired the same way for both. */
import type { ItemEvents, ItemState } from './types';

export function itemEvents(el: HTMLElement, params: { item: ItemState; ev: ItemEvents }) {
  let { item, ev } = params;
  const on: [string, (e: Event) => void][] = [
    ['click', (e) => ev.click(e as MouseEvent, item.index)],
    ['dblclick', () => ev.open(item.node)],
    ['contextmenu', (e) => ev.menu(e as MouseEvent, item.index)],
    ['dragstart', (e) => ev.dragStart(e as DragEvent, item.index)],
    ['dragover', (e) => ev.dragOver(e as DragEvent, item.node)],
    ['dragleave', () => ev.dragLeave(item.node)],
    ['drop', (e) => ev.drop(e as DragEvent, item.node)],
  ];
  for (const [type, fn] of on) el.addEventListener(type, fn);
  return {
    update(next: { item: ItemState; ev: ItemEvents }) {
      ({ item, ev } = next);
    },
    destroy() {
      for (const [type, fn] of on) el.removeEventListener(type, fn);
    },
  };
}
