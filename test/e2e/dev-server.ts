// Manual helper: `npx tsx test/e2e/dev-server.ts` starts a throwaway Coffer (open registration) and prints its URL.
import { startTestServer } from '../support/server.js';

const s = await startTestServer({ env: { OPEN_REGISTRATION: 'true' } });
console.log(s.url);
process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
