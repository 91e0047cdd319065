/** The bcrypt worker pool: hashes off the main thread, and gives its workers' memory back when idle. */
import { expect } from 'chai';
import { BcryptPool } from '../../server/passwords/bcrypt-pool.js';

describe('bcrypt worker pool', function () {
  this.timeout(20_000);

  it('hashes and compares on workers, and ends them once idle', async () => {
    const pool = new BcryptPool(4, 2, 200);
    try {
      const [a, b] = await Promise.all([pool.hash('one'), pool.hash('two')]);
      expect(pool.workers).to.equal(2);
      expect(await pool.compare('one', a)).to.equal(true);
      expect(await pool.compare('one', b)).to.equal(false);
      await new Promise((r) => setTimeout(r, 600));
      expect(pool.workers).to.equal(0);
      // The next task starts a fresh worker.
      expect(await pool.compare('two', b)).to.equal(true);
      expect(pool.workers).to.equal(1);
    } finally {
      await pool.close();
    }
  });
});
