/** What a user wants to be mailed about (users.notify_shares). */
import { bool, type Q } from '../index.js';

/** Whether the user wants a mail when someone shares with them (false for an unknown user). */
export async function notifySharesOf(q: Q, userId: string): Promise<boolean> {
  const r = await q.get<{ notify_shares: unknown }>('SELECT notify_shares FROM users WHERE id = $id', { id: userId });
  return r !== undefined && bool(r.notify_shares);
}

export async function setNotifyShares(q: Q, userId: string, on: boolean): Promise<void> {
  await q.run('UPDATE users SET notify_shares = $on WHERE id = $id', { on: on ? 1 : 0, id: userId });
}
