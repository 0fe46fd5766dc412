/**
 * Peer bug 2, the stale write-back race: a read that began before a mutation must not store its
 * older answer after the mutation's eviction. The latch parks the read inside its resolver, so
 * the interleaving is exact; nothing sleeps.
 */
import { describe, expect, it } from 'vitest';
import { createArrivalCounter, createCachedLibrary } from '../helpers/in-process.ts';

const HELD = '{ held(id: "1") { title } }';
const RENAME = 'mutation { renameBook(id: "1", title: "New title") { id } }';

describe('no stale write-back', () => {
  it('stale write-back race: a read held across renameBook does not store its old answer', async () => {
    const lib = createCachedLibrary();
    const latch = lib.hold();
    const slow = lib.request(HELD);
    await latch.entered;
    const renamed = await lib.request(RENAME);
    expect(renamed.json.errors).toBeUndefined();
    latch.release();
    // The held read may answer with the title it read: it began before the rename.
    expect((await slow).json.data.held.title).toBe('Book 1');
    const next = await lib.request(HELD);
    expect(next.json.data.held.title).toBe('New title');
    expect(next.xcache).toBe('MISS');
    expect(lib.calls.held).toBe(2);
    // And the fresh answer is the one stored.
    expect((await lib.request(HELD)).json.data.held.title).toBe('New title');
  });

  it('does not store a read held across an evictEntity', async () => {
    const lib = createCachedLibrary();
    const latch = lib.hold();
    const slow = lib.request(HELD);
    await latch.entered;
    lib.books.set(1, { ...lib.books.get(1)!, title: 'Changed' });
    await lib.cache.evictEntity('Book', 1);
    latch.release();
    await slow;
    expect((await lib.request(HELD)).json.data.held.title).toBe('Changed');
  });

  it('does not store a read held across an evictAll', async () => {
    const lib = createCachedLibrary();
    const latch = lib.hold();
    const slow = lib.request(HELD);
    await latch.entered;
    lib.books.set(1, { ...lib.books.get(1)!, title: 'Changed' });
    await lib.cache.evictAll();
    latch.release();
    await slow;
    expect((await lib.request(HELD)).json.data.held.title).toBe('Changed');
  });

  it('does not hand a held read\'s stale answer to an identical request that arrived after the mutation', async () => {
    // The late request joins the in-flight execution (coalescing); once the rename made that
    // execution's answer stale, the late request must execute for itself.
    const arrivals = createArrivalCounter();
    const lib = createCachedLibrary({ buildKey: arrivals.buildKey });
    const latch = lib.hold();
    const slow = lib.request(HELD);
    await latch.entered;
    await lib.request(RENAME);
    const late = lib.request(HELD);
    await arrivals.arrived(2);
    latch.release();
    expect((await slow).json.data.held.title).toBe('Book 1');
    const lateAnswer = await late;
    expect(lateAnswer.json.data.held.title).toBe('New title');
    expect(lib.calls.held).toBe(2);
  });

  it('still stores a held read when an unrelated entity is evicted meanwhile', async () => {
    const lib = createCachedLibrary();
    const latch = lib.hold();
    const slow = lib.request(HELD);
    await latch.entered;
    await lib.request('mutation { renameBook(id: "2", title: "Other") { id } }');
    latch.release();
    await slow;
    expect((await lib.request(HELD)).xcache).toBe('HIT');
  });
});
