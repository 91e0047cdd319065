/** How the files page shows a folder (list or grid, sort key and order), remembered in the browser. */
import type { Sort } from './types';

const stored = (k: string, d: string) => (typeof localStorage !== 'undefined' && localStorage.getItem(k)) || d;

export class ViewPrefs {
  sort = $state<Sort>(stored('coffer-sort', 'name') as Sort);
  order = $state<'asc' | 'desc'>(stored('coffer-order', 'asc') as 'asc' | 'desc');
  view = $state<'list' | 'grid'>(stored('coffer-view', 'list') as 'list' | 'grid');

  /** Call once from a component: keeps the choices in localStorage. */
  persist(): void {
    $effect(() => {
      localStorage.setItem('coffer-view', this.view);
      localStorage.setItem('coffer-sort', this.sort);
      localStorage.setItem('coffer-order', this.order);
    });
  }

  /** A click on a column: the same column flips the order; another starts ascending by name, newest/largest first otherwise. */
  sortBy(s: Sort): void {
    if (this.sort === s) this.order = this.order === 'asc' ? 'desc' : 'asc';
    else {
      this.sort = s;
      this.order = s === 'name' ? 'asc' : 'desc';
    }
  }
}
