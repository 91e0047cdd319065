/**
 * A root hook: once every test has run, no upload hashing may be left in flight. One left behind
 * (started and never finished or dropped) keeps the hashing thread referenced, so the run would
 * hang at its end instead of saying why; this says why.
 */
import { expect } from 'chai';
import { hashingsInFlight } from '../storage/hash-thread.js';

after('no upload hashing is left in flight', () => {
  expect(hashingsInFlight(), 'hashings started and never finished or dropped').to.equal(0);
});
