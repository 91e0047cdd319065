import { redirect } from '@sveltejs/kit';
import { appPath } from '$lib/paths';

export function load() {
  redirect(307, appPath('/files'));
}
