/** The lines a user pastes to connect a client with an app password (the devices page). */
import { appPath } from '$lib/paths';

/** The WebDAV address of this server, as the browser reaches it. */
export const davUrl = () => `${location.origin}${appPath('/dav/')}`;

/** Single quotes for a POSIX shell: the password and names stay one literal word. */
const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function rcloneLine(user: string, password: string): string {
  return `rclone config create coffer webdav url=${sh(davUrl())} vendor=owncloud user=${sh(user)} pass=$(rclone obscure ${sh(password)})`;
}

/** The /etc/davfs2/secrets line and the mount command. davfs2 wants a space or quote in a field escaped with a backslash. */
export function davfs2Lines(user: string, password: string): { secrets: string; mount: string } {
  const field = (s: string) => s.replace(/[\\\s"]/g, (c) => `\\${c}`);
  return {
    secrets: `${davUrl()} ${field(user)} ${field(password)}`,
    mount: `sudo mkdir -p /mnt/coffer && sudo mount -t davfs ${davUrl()} /mnt/coffer -o uid=$(id -u),gid=$(id -g)`,
  };
}
