/**
 * Two tiers: an in-process memory store in front of the Redis store, so a hot hit needs no
 * round trip, kept honest by Redis pub/sub: the Redis store announces every eviction on its tier
 * channel, from the very script that evicts, and every instance drops the evicted tags from its
 * own memory tier.
 *
 * The local tier is only used while the subscriber is subscribed. While it is not (down,
 * reconnecting, not yet subscribed), an eviction could be missed, so reads and fills go to Redis
 * alone, and the local tier is flushed when the subscription is back.
 *
 * A message takes its time to reach another instance (a busy or descheduled process reads it
 * late), and until it does that instance's tier holds what the eviction removed. Two rules keep
 * that from ever being seen after the write's answer:
 * - `evict` resolves only once every tier the announcement reached has applied it and said so
 *   on this store's acknowledgement channel (or rejects after `acknowledgeTimeoutMs`: the
 *   cache's eviction guard then retries and its owner bypasses the cache meanwhile);
 * - announcements carry Redis's eviction epoch, and a tier that has seen a later epoch in a
 *   reply from Redis than in the announcements it applied knows it is behind: it is not read
 *   until it has caught up. Otherwise an answer computed from a stale local value could be
 *   stored in Redis under a ticket taken after the eviction, where no tombstone refuses it.
 *   Epochs rise by one per eviction (a new generation jumps, and is announced as a clear), so an
 *   announcement more than one past the last one applied means one never arrived: the tier,
 *   unable to tell what it removed, drops everything.
 *
 * Redis counts receivers by connection, so a subscriber serves one tiered store only: two stores
 * on one connection would be counted once, and one's confirmation would stand for the other's.
 *
 * A connection can also die without a word (a partition: no FIN arrives). Redis stops counting
 * it once it notices, while this side would go on answering from its tier. So the subscriber is
 * pinged every `acknowledgeTimeoutMs`; a ping unanswered for that long switches the tier off, and
 * the next answered one subscribes afresh (flushing the tier) as after a reconnect.
 */
import type { Redis } from 'ioredis';
import type { CacheEntry, CacheStore, Lookup, ManyLookup, ReadTicket, StoreStats } from './store.ts';
import type { MemoryStore } from './memory-store.ts';
import { withDeadline, type Announced, type EvictionMessage, type RedisStore } from './redis-store.ts';

/** Options of `createTieredStore`. */
export interface TieredStoreOptions {
  /** The in-process tier. `close()` closes it. */
  local: MemoryStore;
  /**
   * The shared tier, used by this tiered store alone: its announcements are taken as this
   * instance's own and skipped. `close()` closes it (which quits its client only if it created it).
   */
  remote: RedisStore;
  /**
   * A standalone ioredis client that receives evictions; the store subscribes it to
   * `remote.tierChannel` and to its own acknowledgement channel. With a Cluster remote, pass a
   * client connected to the node that holds the prefix's slot: PUBLISH reaches every node, but
   * only the subscribers of the evicting node are counted, and so waited for. One client per
   * tiered store: a client another open tiered store uses is refused. A client passed here stays
   * the caller's (unsubscribed, not quit, on close).
   * Give it `autoResubscribe: false`: the store re-subscribes by itself and handles a refusal,
   * where ioredis's own re-subscription would leave an unhandled rejection.
   * @default remote.redis.duplicate({ autoResubscribe: false }), quit on close; required when remote.redis is a Cluster
   */
  subscriber?: Redis;
  /**
   * How long `evict` and `clear` wait for the other tiers to confirm they applied the eviction
   * before rejecting, in ms; also how often the subscriber is pinged, and how long it may take
   * to answer before the local tier is switched off.
   * @default 1000
   */
  acknowledgeTimeoutMs?: number;
  /**
   * Receives pub/sub failures the store absorbed (subscription errors, unreadable messages,
   * confirmations that could not be sent).
   * @default a no-op
   */
  onError?: (error: unknown) => void;
}

/** What another instance evicted; emitted after it has been applied to the local tier. */
export type RemoteEviction = { kind: 'evict'; tags: readonly string[] } | { kind: 'clear' };

/** A memory tier in front of the Redis store, used while its eviction subscription is up. */
export interface TieredStore extends CacheStore {
  /**
   * A fresh local hit comes back synchronously, with a ticket `set` refuses: such a hit is never
   * refreshed. A stale local hit (past `maxAgeMs`) is looked up in Redis, so a refresh gets a
   * Redis ticket and may find that another instance already refreshed it.
   */
  get(key: string): Lookup | Promise<Lookup>;
  /**
   * The local tier first; the keys it has no fresh entry for in one remote `getMany`, filling the
   * local tier as `get` does. Synchronous when the local tier answers every key.
   */
  getMany(keys: readonly string[]): ManyLookup | Promise<ManyLookup>;
  set(key: string, entry: CacheEntry, ticket: ReadTicket): Promise<boolean>;
  evict(tags: readonly string[]): Promise<number>;
  clear(): Promise<void>;
  close(): Promise<void>;
  /** The Redis store it fronts. */
  readonly remote: RedisStore;
  /** Whether the local tier is in use, that is whether the subscriber is subscribed. */
  readonly localTierActive: boolean;
  /** Calls `listener` whenever the local tier is switched on or off. Returns an unsubscribe. */
  onLocalTierChange(listener: (active: boolean) => void): () => void;
  /** Calls `listener` after another instance's eviction has been applied here. Returns an unsubscribe. */
  onRemoteEvict(listener: (eviction: RemoteEviction) => void): () => void;
  /** Size of the local tier. */
  stats(): Required<StoreStats>;
}

interface TieredTicket extends ReadTicket {
  readonly remote: ReadTicket;
  /** Absent when the local tier was off as the read began: such a read never fills it. */
  readonly local: ReadTicket | undefined;
}

const noop = (): void => {};

/** The subscribers of open tiered stores in this process (see the header: one store each). */
const subscribersInUse = new WeakSet<object>();

/**
 * An in-process tier (`local`) in front of the Redis store (`remote`), so a hot hit needs no round
 * trip, kept honest by the evictions `remote` announces over pub/sub. While the subscription is
 * down the tier is not used, and it is flushed when the subscription is back.
 */
export function createTieredStore(options: TieredStoreOptions): TieredStore {
  const { local, remote, acknowledgeTimeoutMs = 1000, onError = noop } = options;
  if (!(Number.isFinite(acknowledgeTimeoutMs) && acknowledgeTimeoutMs > 0)) {
    throw new TypeError(`createTieredStore: expected acknowledgeTimeoutMs to be a positive number, got ${String(acknowledgeTimeoutMs)}`);
  }
  if (options.subscriber === undefined && remote.redis.isCluster) {
    throw new TypeError(
      'createTieredStore: with a Redis Cluster remote, pass `subscriber`: a standalone ioredis client connected to the node that holds the prefix\'s slot',
    );
  }
  const { subscriber = (remote.redis as Redis).duplicate({ autoResubscribe: false }) } = options;
  const ownsSubscriber = options.subscriber === undefined;
  if (subscribersInUse.has(subscriber)) {
    throw new TypeError(
      'createTieredStore: this subscriber already serves another tiered store; give each its own client (Redis counts a connection once, so one store would confirm evictions for the other)',
    );
  }
  subscribersInUse.add(subscriber);
  const { tierChannel, origin } = remote;
  const ackChannel = remote.ackChannel(origin);

  let active = false;
  /** The epoch of the last announcement applied here (or Redis's epoch when the tier was switched on). */
  let applied = 0;
  /** The latest epoch any reply from Redis showed. Above `applied`: announcements are on their way, the tier is behind. */
  let observed = 0;
  const observe = (epoch: number): void => {
    if (epoch > observed) observed = epoch;
  };
  /** Whether reads may use the local tier: subscribed, and not behind Redis. */
  const usable = (): boolean => active && applied >= observed;
  const acknowledgements = createAcknowledgements(acknowledgeTimeoutMs);
  let closed = false;
  // Bumped on every connection change, so a SUBSCRIBE acknowledged on a connection that has since
  // dropped cannot switch the local tier on.
  let connection = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  const tierListeners = new Set<(active: boolean) => void>();
  const evictListeners = new Set<(eviction: RemoteEviction) => void>();

  function notify<T>(listeners: Set<(value: T) => void>, value: T): void {
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (error) {
        onError(error);
      }
    }
  }

  function setActive(next: boolean): void {
    if (active === next) return;
    active = next;
    notify(tierListeners, next);
  }

  function subscribe(attempt: number): void {
    subscriber.subscribe(tierChannel, ackChannel).then(
      async () => {
        if (closed || attempt !== connection) return;
        // Evictions published while we were not subscribed are lost to us: the local tier may
        // hold any of their entries. The clear also refuses fills from reads begun before now.
        local.clear();
        // Every eviction up to Redis's epoch now is covered by that clear; later ones will be announced.
        const { ticket } = await remote.getMany([]);
        if (closed || attempt !== connection) return;
        if (ticket.epoch < 0) throw new Error('tiered-store: could not read the eviction epoch from Redis');
        // Raised, not set: this read and the subscription are on different connections, so an
        // announcement may already have been applied past the epoch the read saw.
        if (ticket.epoch > applied) applied = ticket.epoch;
        // Confirmations kept from before the connection dropped are of no eviction in flight now.
        acknowledgements.forgetEarly();
        setActive(true);
      },
    ).catch(
      (error: unknown) => {
        onError(error);
        if (closed || attempt !== connection) return;
        retryTimer = setTimeout(() => subscribe(attempt), 1000);
        retryTimer.unref();
      },
    );
  }

  const onReady = (): void => subscribe(++connection);

  // See the header: a silent subscriber is taken for a lost one.
  let pinging = false;
  let silent = false;
  const heartbeat = setInterval(() => {
    if (closed || pinging || subscriber.status !== 'ready') return;
    pinging = true;
    const at = connection;
    withDeadline(subscriber.ping(), acknowledgeTimeoutMs, 'subscriber ping').then(
      () => {
        pinging = false;
        if (silent && !closed && at === connection) {
          silent = false;
          subscribe(++connection);
        }
      },
      (error: unknown) => {
        pinging = false;
        if (closed || at !== connection || silent) return;
        onError(error);
        silent = true;
        connection++;
        setActive(false);
      },
    );
  }, acknowledgeTimeoutMs);
  heartbeat.unref();
  const onDown = (): void => {
    connection++;
    silent = false;
    setActive(false);
  };
  const onMessage = (from: string, text: string): void => {
    if (from === ackChannel) {
      acknowledgements.received(Number(text));
      return;
    }
    if (from !== tierChannel) return;
    let message: EvictionMessage | undefined;
    try {
      message = JSON.parse(text) as EvictionMessage;
    } catch (error) {
      onError(error);
    }
    const epoch = Number(message?.e);
    const own = message?.o === origin;
    // Past the next epoch: an eviction was never announced to us (see the header).
    const missedOne = epoch > applied + 1;
    if (message !== undefined && Array.isArray(message.t) && !missedOne) {
      // Our own too: the evicting call drops its tags only once Redis has answered, and `applied`
      // moves on now.
      local.evict(message.t);
      if (!own) notify(evictListeners, { kind: 'evict', tags: message.t });
    } else {
      // A clear, a gap, or a message we cannot read: we cannot tell what was evicted, so drop everything.
      local.clear();
      if (!own || missedOne) notify(evictListeners, { kind: 'clear' });
    }
    if (epoch > applied) applied = epoch;
    if (own) {
      // Our own tier is one of those the announcement reached.
      acknowledgements.received(epoch);
    } else if (message !== undefined && message.o !== '' && Number.isFinite(epoch)) {
      // A new generation (origin "") was started by Redis itself: no one waits for it.
      remote.redis.publish(remote.ackChannel(message.o), String(epoch)).catch(onError);
    }
  };
  const onSubscriberError = (error: unknown): void => onError(error);

  subscriber.on('ready', onReady);
  subscriber.on('close', onDown);
  subscriber.on('message', onMessage);
  subscriber.on('error', onSubscriberError);
  if (subscriber.status === 'ready') onReady();
  else if (subscriber.status === 'wait') subscriber.connect().catch(onError);

  async function fromRemote(key: string, localTicket: ReadTicket | undefined): Promise<Lookup> {
    const { entry, ticket } = await remote.get(key);
    observe(ticket.epoch);
    fill(key, entry, localTicket);
    const tiered = tieredTicket(ticket, localTicket);
    return entry === undefined ? { ticket: tiered } : { entry, ticket: tiered };
  }

  /**
   * Copies what Redis answered into the local tier. The local ticket was taken before the remote
   * read: if a broadcast eviction arrived in between, its tombstone makes the local store refuse this fill.
   */
  function fill(key: string, entry: CacheEntry | undefined, localTicket: ReadTicket | undefined): void {
    if (entry !== undefined && localTicket !== undefined && active) local.set(key, entry, localTicket);
  }

  const tieredTicket = (remoteTicket: ReadTicket, localTicket: ReadTicket | undefined): TieredTicket => ({
    epoch: remoteTicket.epoch,
    issuedAt: remoteTicket.issuedAt,
    remote: remoteTicket,
    local: localTicket,
  });

  async function manyFromRemote(keys: readonly string[], found: (CacheEntry | undefined)[], missing: readonly number[], localTicket: ReadTicket | undefined): Promise<ManyLookup> {
    const { entries, ticket } = await remote.getMany(missing.map((i) => keys[i]));
    observe(ticket.epoch);
    missing.forEach((i, j) => {
      found[i] = entries[j];
      fill(keys[i], entries[j], localTicket);
    });
    return { entries: found, ticket: tieredTicket(ticket, localTicket) };
  }

  /** Until every tier the announcement reached (this one among them, when subscribed) has applied it. */
  function confirmed({ epoch, receivers }: Announced): Promise<void> {
    observe(epoch);
    return acknowledgements.awaited(epoch, receivers);
  }

  /** An entry the local tier may answer with: present and fresh (a stale one is looked up in Redis). */
  const freshLocally = (entry: CacheEntry | undefined, at: number): entry is CacheEntry => entry !== undefined && entry.createdAt + entry.maxAgeMs > at;

  return {
    remote,
    get(key) {
      if (!usable()) return fromRemote(key, undefined);
      const lookup = local.get(key);
      if (freshLocally(lookup.entry, lookup.ticket.issuedAt)) return lookup;
      return fromRemote(key, lookup.ticket);
    },

    getMany(keys) {
      if (!usable()) return manyFromRemote(keys, [], keys.map((_, i) => i), undefined);
      const here = local.getMany(keys);
      const at = here.ticket.issuedAt;
      const missing: number[] = [];
      const found = here.entries.map((entry, i) => {
        if (freshLocally(entry, at)) return entry;
        missing.push(i);
        return undefined;
      });
      // Every key answered here: the ticket is the local one, which `set` refuses, as for `get`.
      if (missing.length === 0) return here;
      return manyFromRemote(keys, found, missing, here.ticket);
    },

    // A refresh must be stored through Redis, so its ticket comes from Redis even when the
    // local tier holds a fresh copy.
    async ticket(key) {
      return (await fromRemote(key, active ? local.get(key).ticket : undefined)).ticket;
    },

    async set(key, entry, ticket) {
      const { remote: remoteTicket, local: localTicket } = ticket as Partial<TieredTicket>;
      if (remoteTicket === undefined) return false;
      const stored = await remote.set(key, entry, remoteTicket);
      if (stored && localTicket !== undefined && active) local.set(key, entry, localTicket);
      return stored;
    },

    // The remote store announces the eviction to the other instances.
    async evict(tags) {
      let announced: Announced & { evicted: number };
      try {
        announced = await remote.evictAnnounced(tags);
      } finally {
        // After the remote eviction, not before: a local miss in between would refill from Redis.
        local.evict(tags);
      }
      await confirmed(announced);
      return announced.evicted;
    },

    async clear() {
      let announced: Announced;
      try {
        announced = await remote.clearAnnounced();
      } finally {
        local.clear();
      }
      await confirmed(announced);
    },

    async close() {
      closed = true;
      subscribersInUse.delete(subscriber);
      clearTimeout(retryTimer);
      clearInterval(heartbeat);
      acknowledgements.close();
      setActive(false);
      subscriber.off('ready', onReady);
      subscriber.off('close', onDown);
      subscriber.off('message', onMessage);
      if (ownsSubscriber) {
        // Our 'error' listener stays: a client without one crashes the process on a late error.
        try {
          await withDeadline(subscriber.quit(), remote.commandTimeoutMs, 'quit');
        } catch {
          subscriber.disconnect();
        }
      } else {
        subscriber.off('error', onSubscriberError);
        await withDeadline(subscriber.unsubscribe(tierChannel, ackChannel), remote.commandTimeoutMs, 'unsubscribe').catch(onError);
      }
      await remote.close();
      local.close();
    },

    get localTierActive() {
      return active;
    },

    onLocalTierChange(listener) {
      tierListeners.add(listener);
      return () => tierListeners.delete(listener);
    },

    onRemoteEvict(listener) {
      evictListeners.add(listener);
      return () => evictListeners.delete(listener);
    },

    stats: () => local.stats(),
  };
}

interface Acknowledgements {
  /** A tier applied the eviction with this epoch. */
  received(epoch: number): void;
  /** Resolves once `count` tiers have applied `epoch`; rejects after the timeout, or at once when closed. */
  awaited(epoch: number, count: number): Promise<void>;
  /** Drops the confirmations that arrived before anyone asked for them. */
  forgetEarly(): void;
  close(): void;
}

/**
 * Confirmations can arrive before the eviction's own reply: this many are kept until asked for,
 * enough for thousands of evictions in flight at once.
 */
const EARLY_ACKNOWLEDGEMENTS = 4096;

function createAcknowledgements(timeoutMs: number): Acknowledgements {
  const early = new Map<number, number>();
  const waiting = new Map<number, { missing: number; done(error?: Error): void }>();
  let closed = false;
  return {
    received(epoch) {
      if (!Number.isFinite(epoch)) return;
      const waiter = waiting.get(epoch);
      if (waiter === undefined) {
        early.set(epoch, (early.get(epoch) ?? 0) + 1);
        // Confirmations of evictions whose reply never came (a timed-out command) are not asked for.
        if (early.size > EARLY_ACKNOWLEDGEMENTS) early.delete(early.keys().next().value!);
        return;
      }
      if (--waiter.missing === 0) waiter.done();
    },
    awaited(epoch, count) {
      const missing = count - (early.get(epoch) ?? 0);
      early.delete(epoch);
      if (missing <= 0) return Promise.resolve();
      if (closed) return Promise.reject(new Error('tiered-store: closed before the eviction was confirmed'));
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          const waiter = waiting.get(epoch);
          waiter?.done(new Error(`tiered-store: ${waiter.missing} of ${count} in-process tiers did not confirm the eviction within ${timeoutMs} ms`));
        }, timeoutMs);
        // A wait never keeps the process alive: it ends with the eviction's own promise.
        timer.unref();
        waiting.set(epoch, {
          missing,
          done(error) {
            clearTimeout(timer);
            waiting.delete(epoch);
            if (error) reject(error);
            else resolve();
          },
        });
      });
    },
    forgetEarly() {
      early.clear();
    },
    close() {
      closed = true;
      for (const waiter of [...waiting.values()]) waiter.done(new Error('tiered-store: closed before the eviction was confirmed'));
      early.clear();
    },
  };
}
