/**
 * Coalescing: identical concurrent misses share one execution. The latch holds the leader inside
 * its resolver until every request has reached the cache, so the test does not depend on timing.
 */
import { describe, expect, it } from 'vitest';
import { bearer, createArrivalCounter, createCachedLibrary } from '../helpers/in-process.ts';

const HELD = '{ held(id: "2") { title author { name } } }';

async function burst(lib: ReturnType<typeof createCachedLibrary>, arrivals: ReturnType<typeof createArrivalCounter>, n: number, headers = (_i: number) => ({})) {
  const latch = lib.hold();
  const answers = Array.from({ length: n }, (_, i) => lib.request(HELD, { headers: headers(i) }));
  await latch.entered;
  await arrivals.arrived(n);
  latch.release();
  return Promise.all(answers);
}

describe('coalescing', () => {
  it('peer bug #13: no de-duplication of concurrent identical misses (20 identical misses run once and all are answered)', async () => {
    const arrivals = createArrivalCounter();
    const lib = createCachedLibrary({ buildKey: arrivals.buildKey });
    const answers = await burst(lib, arrivals, 20);
    expect(lib.calls.held).toBe(1);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({ data: { held: { title: 'Book 2', author: { name: 'Author 2' } } } });
      expect(answer.xcache).toBe('MISS');
      expect(answer.headers.get('cache-control')).toBe('max-age=60, public');
    }
    const leaders = answers.filter((a) => a.headers.get('x-cache-coalesced') === null);
    const followers = answers.filter((a) => a.headers.get('x-cache-coalesced') === '1');
    expect(leaders).toHaveLength(1);
    expect(followers).toHaveLength(19);
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    expect((await lib.request(HELD)).xcache).toBe('HIT');
  });

  it('shares a PUBLIC execution across sessions', async () => {
    const arrivals = createArrivalCounter();
    const lib = createCachedLibrary({ buildKey: arrivals.buildKey });
    const answers = await burst(lib, arrivals, 6, (i) => (i % 2 ? bearer(`user${i}`) : {}));
    expect(lib.calls.held).toBe(1);
    expect(answers.filter((a) => a.headers.get('x-cache-coalesced') === '1')).toHaveLength(5);
  });

  it('executes each request when coalesce is false', async () => {
    const arrivals = createArrivalCounter();
    const lib = createCachedLibrary({ buildKey: arrivals.buildKey, coalesce: false });
    const answers = await burst(lib, arrivals, 5);
    expect(lib.calls.held).toBe(5);
    for (const answer of answers) expect(answer.headers.get('x-cache-coalesced')).toBeNull();
  });

  it('does not coalesce requests for different variables', async () => {
    const arrivals = createArrivalCounter();
    const lib = createCachedLibrary({ buildKey: arrivals.buildKey });
    const latch = lib.hold();
    const query = 'query ($id: ID!) { held(id: $id) { title } }';
    const one = lib.request(query, { variables: { id: '1' } });
    await latch.entered;
    const two = lib.request(query, { variables: { id: '2' } });
    await arrivals.arrived(2);
    latch.release();
    expect((await one).json.data.held.title).toBe('Book 1');
    expect((await two).json.data.held.title).toBe('Book 2');
    expect(lib.calls.held).toBe(2);
  });
});
