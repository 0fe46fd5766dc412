/**
 * Scopes: PUBLIC answers are stored once and shared by everyone; PRIVATE answers are stored per
 * session, never shared, and never stored without a session. Scope is judged from the fields
 * actually resolved, so aliases, fragments and abstract types cannot hide a PRIVATE field.
 */
import { describe, expect, it } from 'vitest';
import { bearer, createArrivalCounter, createCachedLibrary, listenWithFront } from '../helpers/in-process.ts';

describe('PUBLIC answers', () => {
  it('envelop#2181: PUBLIC data keyed per session: one entry serves every session and anonymous requests', async () => {
    const lib = createCachedLibrary();
    const query = '{ book(id: "1") { title author { name } } }';
    const a = await lib.request(query, { headers: bearer('A') });
    const b = await lib.request(query, { headers: bearer('B') });
    const anonymous = await lib.request(query);
    expect([a.xcache, b.xcache, anonymous.xcache]).toEqual(['MISS', 'HIT', 'HIT']);
    expect(b.text).toBe(a.text);
    expect(anonymous.text).toBe(a.text);
    expect(a.headers.get('cache-control')).toBe('max-age=60, public');
    expect(lib.calls.book).toBe(1);
  });

  it('shares an answer first produced for an anonymous request with signed-in ones', async () => {
    const lib = createCachedLibrary();
    await lib.request('{ author(id: "2") { name } }');
    expect((await lib.request('{ author(id: "2") { name } }', { headers: bearer('A') })).xcache).toBe('HIT');
    expect(lib.calls.author).toBe(1);
  });
});

describe('PRIVATE answers', () => {
  const PRIVATE = '{ author(id: "1") { name email } }';

  it('is stored per session and served again to that session only', async () => {
    const lib = createCachedLibrary();
    const a = await lib.request(PRIVATE, { headers: bearer('A') });
    const aAgain = await lib.request(PRIVATE, { headers: bearer('A') });
    const b = await lib.request(PRIVATE, { headers: bearer('B') });
    expect(a.headers.get('cache-control')).toBe('max-age=300, private');
    expect([a.xcache, aAgain.xcache, b.xcache]).toEqual(['MISS', 'HIT', 'MISS']);
    expect(b.json.data.author.email).toBe('a1@example.com');
    expect(lib.calls.author).toBe(2);
  });

  it('is never served to an anonymous request, and not stored for one', async () => {
    const lib = createCachedLibrary();
    await lib.request(PRIVATE, { headers: bearer('A') });
    const first = await lib.request(PRIVATE);
    const second = await lib.request(PRIVATE);
    expect([first.xcache, second.xcache]).toEqual(['BYPASS', 'BYPASS']);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(lib.calls.author).toBe(3);
  });

  it('does not leak a changed PRIVATE value from one session\'s entry into another\'s answer', async () => {
    const lib = createCachedLibrary();
    await lib.request(PRIVATE, { headers: bearer('A') });
    lib.authors.set(1, { ...lib.authors.get(1)!, email: 'new@example.com' });
    const a = await lib.request(PRIVATE, { headers: bearer('A') });
    const b = await lib.request(PRIVATE, { headers: bearer('B') });
    expect(a.json.data.author.email).toBe('a1@example.com');
    expect(b.json.data.author.email).toBe('new@example.com');
  });

  it('stores a PRIVATE type (Query.viewer) per session', async () => {
    const lib = createCachedLibrary();
    const a = await lib.request('{ viewer { name } }', { headers: bearer('A') });
    const b = await lib.request('{ viewer { name } }', { headers: bearer('B') });
    const anonymous = await lib.request('{ viewer { name } }');
    expect(a.headers.get('cache-control')).toBe('max-age=60, private');
    expect([a.xcache, b.xcache, anonymous.xcache]).toEqual(['MISS', 'MISS', 'BYPASS']);
    expect(lib.calls.viewer).toBe(3);
  });
});

describe('smuggling a PRIVATE field into a shared entry', () => {
  /**
   * Sends a query as A, then B, then twice anonymously. Neither B nor the anonymous requests
   * may be served A's answer, and the anonymous answers must not be stored.
   */
  async function assertNeverShared(lib: ReturnType<typeof createCachedLibrary>, query: string, field: string) {
    const a = await lib.request(query, { headers: bearer('A') });
    const b = await lib.request(query, { headers: bearer('B') });
    const anon1 = await lib.request(query);
    const anon2 = await lib.request(query);
    expect(a.json.errors).toBeUndefined();
    expect(a.text).toContain(field);
    expect(a.headers.get('cache-control')).toMatch(/, private$/);
    expect(b.xcache).toBe('MISS');
    expect([anon1.xcache, anon2.xcache]).toEqual(['BYPASS', 'BYPASS']);
    expect(anon2.headers.get('cache-control')).toBe('no-store');
  }

  it('aliased PRIVATE field cached without a session', async () => {
    const lib = createCachedLibrary();
    await assertNeverShared(lib, '{ author(id: "1") { name contact: email } }', '"contact"');
  });

  it('hides no PRIVATE field behind a named fragment', async () => {
    const lib = createCachedLibrary();
    await assertNeverShared(lib, '{ author(id: "1") { ...Contact } } fragment Contact on Author { name email }', '"email"');
  });

  it('hides no PRIVATE field behind an interface (node { ... on Author { email } })', async () => {
    // Query.node has no hint (Node is a hint-less interface): give it one, or nothing is cached at all.
    const lib = createCachedLibrary({ hints: { 'Query.node': 60 } });
    // The control: the same shape without email is a shared PUBLIC entry.
    await lib.request('{ node(id: "a1") { ... on Author { name } } }', { headers: bearer('A') });
    expect((await lib.request('{ node(id: "a1") { ... on Author { name } } }')).xcache).toBe('HIT');
    await assertNeverShared(lib, '{ node(id: "a1") { id ... on Author { email } } }', '"email"');
  });

  it('hides no PRIVATE field behind a union and an alias (feed { ... on Author { e: email } })', async () => {
    const lib = createCachedLibrary();
    await lib.request('{ feed { ... on Author { name } } }');
    expect((await lib.request('{ feed { ... on Author { name } } }', { headers: bearer('A') })).xcache).toBe('HIT');
    await assertNeverShared(lib, '{ feed { ... on Book { title } ... on Author { e: email } } }', '"e"');
  });

  it('hides no PRIVATE field behind a fragment on the interface inside a list', async () => {
    const lib = createCachedLibrary();
    await assertNeverShared(
      lib,
      '{ books { author { ...N } } } fragment N on Node { ... on Author { mail: email } }',
      '"mail"',
    );
  });
});

describe('dynamic PRIVATE hints', () => {
  const DYNAMIC = '{ dynamic(maxAge: 50, private: true) }';

  it('stores a dynamically PRIVATE answer per session and never shares it', async () => {
    const lib = createCachedLibrary();
    const a = await lib.request(DYNAMIC, { headers: bearer('A') });
    const aAgain = await lib.request(DYNAMIC, { headers: bearer('A') });
    const b = await lib.request(DYNAMIC, { headers: bearer('B') });
    const anonymous = await lib.request(DYNAMIC);
    expect(a.headers.get('cache-control')).toBe('max-age=50, private');
    expect([a.xcache, aAgain.xcache, b.xcache, anonymous.xcache]).toEqual(['MISS', 'HIT', 'MISS', 'BYPASS']);
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
    expect(lib.calls.dynamic).toBe(3);
  });

  it('keys a dynamically PRIVATE operation per session through the HTTP front too', async () => {
    // The front hands identical bodies one frozen params object and works out their key once;
    // that must not outlive the operation turning PRIVATE at run time.
    const lib = createCachedLibrary();
    const front = await listenWithFront(lib);
    try {
      const a = await front.request(DYNAMIC, { headers: bearer('A') });
      const aAgain = await front.request(DYNAMIC, { headers: bearer('A') });
      const b = await front.request(DYNAMIC, { headers: bearer('B') });
      const anonymous = await front.request(DYNAMIC);
      expect([a.xcache, aAgain.xcache, b.xcache, anonymous.xcache]).toEqual(['MISS', 'HIT', 'MISS', 'BYPASS']);
      expect(b.headers.get('cache-control')).toBe('max-age=50, private');
      expect(lib.calls.dynamic).toBe(3);
    } finally {
      await front.close();
    }
  });

  it('does not store a dynamically PRIVATE answer produced for an anonymous request', async () => {
    const lib = createCachedLibrary();
    const first = await lib.request(DYNAMIC);
    const signedIn = await lib.request(DYNAMIC, { headers: bearer('A') });
    const second = await lib.request(DYNAMIC);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(signedIn.xcache).toBe('MISS');
    expect(second.xcache).not.toBe('HIT');
    expect(lib.calls.dynamic).toBe(3);
  });

  it('does not hand one session\'s dynamically PRIVATE answer to a concurrent identical request of another', async () => {
    // Before the first execution nothing says the operation is PRIVATE, so A and B share a key
    // and B waits on A's execution (held by the latch until B has arrived): once A's answer
    // turns PRIVATE, B must execute for itself.
    const arrivals = createArrivalCounter();
    const lib = createCachedLibrary({ buildKey: arrivals.buildKey });
    const query = '{ held(id: "1") { title } dynamic(maxAge: 50, private: true) }';
    const latch = lib.hold();
    const a = lib.request(query, { headers: bearer('A') });
    await latch.entered;
    const b = lib.request(query, { headers: bearer('B') });
    await arrivals.arrived(2);
    latch.release();
    const [answerA, answerB] = await Promise.all([a, b]);
    expect(answerA.headers.get('cache-control')).toBe('max-age=50, private');
    expect(answerB.json.data.held.title).toBe('Book 1');
    expect(answerB.headers.get('x-cache-coalesced')).toBeNull();
    expect(lib.calls.held).toBe(2);
    expect((await lib.request(query, { headers: bearer('B') })).xcache).toBe('HIT');
    expect((await lib.request(query, { headers: bearer('C') })).xcache).toBe('MISS');
  });
});
