/** The shapes the files page shares with its parts (toolbar, rows, tiles, menu). */
import type { Lock, Node } from '$lib/types';

export type Sort = 'name' | 'size' | 'modified';

/** What the toolbar asks the page to do. */
export interface ToolbarActions {
  download(nodes: Node[]): void;
  share(n: Node): void;
  rename(n: Node): void;
  transfer(mode: 'move' | 'copy', nodes: Node[]): void;
  remove(nodes: Node[]): void;
  clear(): void;
  newFolder(): void;
  uploadFiles(): void;
  uploadFolder(): void;
  dragOver(e: DragEvent, target: Node): void;
  dragLeave(target: Node): void;
  drop(e: DragEvent, target: Node): void;
}

/** What one listed item (a list row or a grid tile) reports to the page. */
export interface ItemEvents {
  click(e: MouseEvent, i: number): void;
  open(n: Node): void;
  menu(e: MouseEvent, i: number): void;
  toggle(i: number): void;
  dragStart(e: DragEvent, i: number): void;
  dragOver(e: DragEvent, n: Node): void;
  dragLeave(n: Node): void;
  drop(e: DragEvent, n: Node): void;
  commitRename(e?: Event): void;
  cancelRename(): void;
}

/** How one listed item is shown. */
export interface ItemState {
  node: Node;
  index: number;
  selected: boolean;
  focused: boolean;
  dropTarget: boolean;
  draggable: boolean;
  renaming: boolean;
  lock: Lock | undefined;
}

/** What a listed item (ListedItem and its FileRow or FileTile) takes from the page; the rename text is bound. */
export interface ItemProps {
  item: ItemState;
  ev: ItemEvents;
  renameValue: string;
}

/** What the item menu (right click, the ⋯ button, Shift+F10) asks the page to do. */
export interface MenuActions extends Pick<
  ToolbarActions,
  'download' | 'share' | 'rename' | 'remove' | 'newFolder' | 'uploadFiles' | 'uploadFolder'
> {
  open(n: Node): void;
  versions(n: Node): void;
  breakLock(l: Lock): void;
  pick(mode: 'move' | 'copy', nodes: Node[]): void;
  /** The menu closed without an action (Escape, Tab): focus goes back to the list. */
  dismiss(): void;
}
