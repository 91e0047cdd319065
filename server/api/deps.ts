import type { Config } from '../../config/index.js';
import type { Admin } from '../domain/admin.js';
import type { Accounts } from '../domain/auth.js';
import type { Drive } from '../domain/drive.js';

/** What the API layer is given by the composition root. */
export interface ApiDeps {
  config: Config;
  drive: Drive;
  accounts: Accounts;
  admin: Admin;
  version: string;
}
