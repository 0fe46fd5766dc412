/**
 * The shared store: entries in Redis, indexed by tag, written and evicted atomically by Lua.
 *
 * Redis Cluster: every key of one store carries the hash tag `{prefix}`, so a whole cache
 * namespace lives in one slot and each script touches one slot (atomic, never CROSSSLOT).
 * The price: one namespace is served by one master. The cluster gives failover and shared
 * infrastructure, not write spread within a namespace; to spread load, give apps or shards
 * their own prefixes, which hash to other slots (and usually other masters).
 *
 * Key layout, for prefix `gcl`; every key but the first two expires on its own:
 *   {gcl}:epoch           eviction counter, INCR by every evict and clear (no TTL, one key)
 *   {gcl}:gen             epoch of the last clear, part of every entry and index key (no TTL)
 *   {gcl}:e:<gen>:<key>   entry `<JSON header>\n<body>`, PX = time left to createdAt+maxAge+swr
 *   {gcl}:t:<gen>:<tag>   set of the entry keys under a tag, PEXPIRE = its longest member's
 *   {gcl}:x:<tag>         tombstone: the epoch of the tag's last eviction, PX = tombstoneMs
 *
 * Needs Redis 7 (the read script is flagged `no-writes`, so reads go on during a write pause).
 */
import { randomUUID } from 'node:crypto';
import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import {
  DEFAULT_TOMBSTONE_MS,
  type CacheEntry,
  type CacheStore,
  type Lookup,
  type ManyLookup,
  type ReadTicket,
} from './store.ts';

/** Where a Redis failure happened: a store operation, or a client's `connection`. */
export type RedisStoreOperation = 'get' | 'set' | 'evict' | 'clear' | 'connection';

/** Options of `createRedisStore`. */
export interface RedisStoreOptions {
  /**
   * The Redis to use. An ioredis `Redis` or `Cluster` instance stays the caller's: the store
   * never closes it. A URL or ioredis options make the store create its own client, which it
   * quits on `close()`, with latency bounds: `commandTimeout: commandTimeoutMs`,
   * `maxRetriesPerRequest: 1`, `enableOfflineQueue: false` (commands fail at once while
   * disconnected) and reconnection every 100 ms to 1 s.
   */
  redis: Redis | Cluster | string | RedisOptions;
  /**
   * Namespace of every key, so several caches share one Redis. Braces are not allowed: the store
   * wraps the prefix in `{…}` itself to keep a namespace in one Cluster slot.
   * @default 'gcl'
   */
  prefix?: string;
  /**
   * How long an eviction's tombstone is kept, in ms. A ticket older than this is refused by `set`.
   * @default 60000 (60 s)
   */
  tombstoneMs?: number;
  /**
   * Deadline of one store operation, in ms, whatever the client's own settings: a `get` past it
   * is a miss that cannot be stored, a `set` resolves false, an `evict` or `clear` is retried
   * once and then rejects.
   * @default 250
   */
  commandTimeoutMs?: number;
  /**
   * This instance's clock, ms since the Unix epoch: tickets, their age and entry TTLs use it.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Receives each Redis failure the store absorbed or is about to report: a `get` turned into a
   * miss, a `set` turned into false, a failed `evict`/`clear` attempt, errors of a client the
   * store created. Attach the server's logger or metrics here.
   * @default a no-op
   */
  onError?: (error: unknown, operation: RedisStoreOperation) => void;
}

/** The Redis store: every operation is one round trip (one Lua script), bounded by `commandTimeoutMs`. */
export interface RedisStore extends CacheStore {
  get(key: string): Promise<Lookup>;
  getMany(keys: readonly string[]): Promise<ManyLookup>;
  set(key: string, entry: CacheEntry, ticket: ReadTicket): Promise<boolean>;
  evict(tags: readonly string[]): Promise<number>;
  clear(): Promise<void>;
  /** `evict`, answering also the eviction's epoch and how many tiers (subscribers of `tierChannel`) were sent it. */
  evictAnnounced(tags: readonly string[]): Promise<Announced & { evicted: number }>;
  /** `clear`, answering also its epoch and how many tiers were sent it. */
  clearAnnounced(): Promise<Announced>;
  close(): Promise<void>;
  /** The prefix as configured (without braces). */
  readonly prefix: string;
  /** The client in use, the caller's or the store's own. */
  readonly redis: Redis | Cluster;
  /** The deadline this store applies to each operation, in ms. */
  readonly commandTimeoutMs: number;
  /**
   * The pub/sub channel, `<prefix>:evictions`, on which every `evict` and `clear` is announced by
   * the script that performs it, as JSON `{"o": origin, "t": [tags], "e": epoch}` or
   * `{"o": origin, "c": 1, "e": epoch}`: for anyone who wants to watch.
   */
  readonly channel: string;
  /**
   * The same announcements on `<prefix>:tiers`, for the in-process tiers in front of this store
   * alone: the script learns how many received each one, and the tier that evicted waits for
   * that many confirmations (see tiered-store.ts).
   */
  readonly tierChannel: string;
  /** Where the tiers confirm to the store with `origin` that they applied its eviction: `<prefix>:acks:<origin>`. */
  ackChannel(origin: string): string;
  /** Identifies this store instance in its announcements, so a listener can skip its own. */
  readonly origin: string;
}

/** An announcement on `RedisStore.channel` and `tierChannel`. */
export interface EvictionMessage {
  /** The `origin` of the store that evicted; "" for a new generation Redis started (a clear). */
  o: string;
  /** The evicted tags; absent for a clear. */
  t?: string[];
  /** 1 for a clear. */
  c?: 1;
  /** The store's epoch after this eviction: one more than before it, so announcements are numbered in the order they ran. */
  e: number;
}

/** What an eviction or clear told the tiers: its epoch, and how many tiers the announcement reached. */
export interface Announced {
  epoch: number;
  receivers: number;
}

/** The default deadline of one store operation, in ms. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 250;

/** A ticket from a failed read: `set` refuses it without asking Redis. */
const NO_STORE_EPOCH = -1;

interface RedisTicket extends ReadTicket {
  /** Redis's clock (ms) when the read ran, so Redis itself can refuse a set that arrives too late. */
  readonly serverTime: number;
}

// Shared by the writing scripts. Reads `epoch` and `gen`; when either is missing (first use, a
// restart without persistence, or maxmemory evicted it), starts a new generation at an epoch above
// any ticket handed out before: epochs start at Redis's clock in µs and grow by one per eviction,
// so an older ticket cannot reach the new start unless evictions ran faster than one per µs.
// The new generation makes older entries unreachable and `gen` refuses older tickets; it is
// announced as a clear (origin "") with its epoch, so that the in-process tiers drop what they
// hold of the old one and know the epoch moved on. The channels are `<prefix>:evictions` and
// `<prefix>:tiers`, the prefix read from KEYS[1], `{<prefix>}:epoch`.
// Numbers never go through tostring (Lua prints 16 digits as 1.7e+15): formatted with %.0f.
const META_LUA = `
local function meta()
  local m = redis.call('MGET', KEYS[1], KEYS[2])
  if m[1] and m[2] then return m[1], m[2] end
  local t = redis.call('TIME')
  local e = t[1] .. string.format('%06d', tonumber(t[2]))
  if m[1] and tonumber(m[1]) >= tonumber(e) then
    e = string.format('%.0f', redis.call('INCR', KEYS[1]))
  else
    redis.call('SET', KEYS[1], e)
  end
  redis.call('SET', KEYS[2], e)
  local prefix = string.sub(KEYS[1], 2, -8)
  local message = '{"o":"","c":1,"e":' .. e .. '}'
  redis.call('PUBLISH', prefix .. ':evictions', message)
  redis.call('PUBLISH', prefix .. ':tiers', message)
  return e, e
end
`;

// KEYS: epoch, gen. Creates them when missing.
const INIT_LUA = `${META_LUA}
meta()
return 1
`;

// KEYS: epoch, gen. ARGV: key prefix, key.
// Returns { epoch, redis time in ms, raw entry or false }. Read-only: a missing `gen` means nothing
// is reachable; the epoch returned then is refused by the `gen` the next write creates.
const GET_LUA = `#!lua flags=no-writes
local m = redis.call('MGET', KEYS[1], KEYS[2])
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not m[2] then return { m[1] or '0', ms, false } end
return { m[1] or '0', ms, redis.call('GET', ARGV[1] .. 'e:' .. m[2] .. ':' .. ARGV[2]) }
`;

// KEYS: epoch, gen. ARGV: key prefix, keys… Returns { epoch, redis time in ms, raw entry or false
// for each key }: GET_LUA for many keys, with one epoch and one time for them all (one ticket).
const GET_MANY_LUA = `#!lua flags=no-writes
local m = redis.call('MGET', KEYS[1], KEYS[2])
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local reply = { m[1] or '0', ms }
if not m[2] then return reply end
local base = ARGV[1] .. 'e:' .. m[2] .. ':'
for i = 2, #ARGV do reply[i + 1] = redis.call('GET', base .. ARGV[i]) end
return reply
`;

// KEYS: epoch, gen. ARGV: key prefix, key, value, pttl, ticket epoch, ticket redis time,
// tombstoneMs, tags… Returns 1 when stored, 0 when refused.
const SET_LUA = `${META_LUA}
local e, g = meta()
local te = tonumber(ARGV[5])
if te < tonumber(g) or te > tonumber(e) then return 0 end
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ms - tonumber(ARGV[6]) >= tonumber(ARGV[7]) then return 0 end
for i = 8, #ARGV do
  local x = redis.call('GET', ARGV[1] .. 'x:' .. ARGV[i])
  if x and tonumber(x) > te then return 0 end
end
local ek = ARGV[1] .. 'e:' .. g .. ':' .. ARGV[2]
local pttl = tonumber(ARGV[4])
redis.call('SET', ek, ARGV[3], 'PX', ARGV[4])
for i = 8, #ARGV do
  local tk = ARGV[1] .. 't:' .. g .. ':' .. ARGV[i]
  redis.call('SADD', tk, ek)
  if redis.call('PTTL', tk) < pttl then redis.call('PEXPIRE', tk, ARGV[4]) end
end
return 1
`;

// Publishes the announcement ARGV[m] (a JSON object without its closing brace) completed with the
// epoch `n` on both channels, ARGV[c] and ARGV[c + 1]; returns how many tiers received it.
const ANNOUNCE_LUA = `
local function announce(c, m, n)
  local message = ARGV[m] .. ',"e":' .. n .. '}'
  redis.call('PUBLISH', ARGV[c], message)
  return redis.call('PUBLISH', ARGV[c + 1], message)
end
`;

// KEYS: epoch, gen. ARGV: key prefix, tombstoneMs, channel, tier channel, message, tags…
// Returns { entries removed, epoch, tiers reached }. The announcement is published by the same
// script, so an eviction can never be applied without being announced, and subscribers receive
// it in the order evictions ran.
const EVICT_LUA = `${META_LUA}${ANNOUNCE_LUA}
local _, g = meta()
local n = string.format('%.0f', redis.call('INCR', KEYS[1]))
local removed = 0
for i = 6, #ARGV do
  local tk = ARGV[1] .. 't:' .. g .. ':' .. ARGV[i]
  local members = redis.call('SMEMBERS', tk)
  for j = 1, #members, 500 do
    removed = removed + redis.call('UNLINK', unpack(members, j, math.min(j + 499, #members)))
  end
  redis.call('UNLINK', tk)
  redis.call('SET', ARGV[1] .. 'x:' .. ARGV[i], n, 'PX', ARGV[2])
end
return { removed, n, announce(3, 5, n) }
`;

// KEYS: epoch, gen. ARGV: channel, tier channel, message. Returns { epoch, tiers reached }. A new
// generation: older entries and indexes become unreachable and leave by their own TTL; older
// tickets are refused because their epoch is below `gen`.
const CLEAR_LUA = `${META_LUA}${ANNOUNCE_LUA}
meta()
local n = string.format('%.0f', redis.call('INCR', KEYS[1]))
redis.call('SET', KEYS[2], n)
return { n, announce(1, 3, n) }
`;

/** What GET_LUA answers: the epoch, Redis's clock in ms, and the raw entry or null. */
type GetReply = [string, number, string | null];
/** What GET_MANY_LUA answers: the epoch, Redis's clock in ms, and a raw entry or null per key (none when no generation exists yet). */
type GetManyReply = [string, number, ...(string | null)[]];

interface ScriptedClient {
  graphqlCacheInit(epochKey: string, genKey: string): Promise<number>;
  graphqlCacheGet(epochKey: string, genKey: string, keyPrefix: string, key: string): Promise<GetReply>;
  graphqlCacheGetMany(epochKey: string, genKey: string, keyPrefix: string, ...keys: string[]): Promise<GetManyReply>;
  graphqlCacheSet(epochKey: string, genKey: string, ...args: (string | number)[]): Promise<number>;
  graphqlCacheEvict(epochKey: string, genKey: string, ...args: (string | number)[]): Promise<[number, string, number]>;
  graphqlCacheClear(epochKey: string, genKey: string, channel: string, tierChannel: string, message: string): Promise<[string, number]>;
}

function defineScripts(client: Redis | Cluster): ScriptedClient {
  client.defineCommand('graphqlCacheInit', { numberOfKeys: 2, lua: INIT_LUA });
  client.defineCommand('graphqlCacheGet', { numberOfKeys: 2, lua: GET_LUA });
  client.defineCommand('graphqlCacheGetMany', { numberOfKeys: 2, lua: GET_MANY_LUA });
  client.defineCommand('graphqlCacheSet', { numberOfKeys: 2, lua: SET_LUA });
  client.defineCommand('graphqlCacheEvict', { numberOfKeys: 2, lua: EVICT_LUA });
  client.defineCommand('graphqlCacheClear', { numberOfKeys: 2, lua: CLEAR_LUA });
  return client as unknown as ScriptedClient;
}

// The entry's fields as a JSON array on the first line, the body verbatim after it: JSON never
// emits a raw newline, so a hit splits at the first one and parses a few dozen bytes, not the body.
const ENCODING_VERSION = 1;

function encodeEntry(entry: CacheEntry): string {
  const header = [ENCODING_VERSION, entry.createdAt, entry.maxAgeMs, entry.swrMs, entry.scope, entry.etag, entry.tags];
  return `${JSON.stringify(header)}\n${entry.body}`;
}

function decodeEntry(raw: string): CacheEntry | undefined {
  const newline = raw.indexOf('\n');
  if (newline < 0) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(raw.slice(0, newline));
  } catch {
    return undefined;
  }
  if (!Array.isArray(header) || header[0] !== ENCODING_VERSION) return undefined;
  const [, createdAt, maxAgeMs, swrMs, scope, etag, tags] = header as [number, number, number, number, CacheEntry['scope'], string, string[]];
  return { body: raw.slice(newline + 1), createdAt, maxAgeMs, swrMs, scope, etag, tags };
}

/**
 * A stored entry still alive at `at` on this instance's clock. Redis's TTL already holds this;
 * checking with our clock too keeps instances whose clocks disagree a little from serving past
 * the entry's own limit.
 */
function liveEntry(raw: string | null, at: number): CacheEntry | undefined {
  if (raw === null) return undefined;
  const entry = decodeEntry(raw);
  return entry === undefined || entry.createdAt + entry.maxAgeMs + entry.swrMs <= at ? undefined : entry;
}

/** Settles like `promise`, or rejects with a `DeadlineError` after `ms`. Shared with the tiered store. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(Object.assign(new Error(`redis-store: ${what} took longer than ${ms} ms`), { name: 'DeadlineError' }));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * ioredis settings for the store's connections: every command is bounded (a slow or absent Redis
 * costs a miss, not a hang), and auto-pipelining sends the commands of one turn of the event
 * loop (the hits of every connection that turned readable together) in one write, so under load
 * concurrent hits share a round of syscalls instead of paying one each. Not for a Cluster's
 * nodes: ioredis's auto-pipelining on a Cluster fails commands while its slot map has gaps
 * (a failover), where plain commands are redirected.
 */
export function boundedRedisOptions(commandTimeoutMs: number = DEFAULT_REDIS_COMMAND_TIMEOUT_MS) {
  return {
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
  } satisfies RedisOptions;
}

function ownClient(connection: string | RedisOptions, commandTimeoutMs: number): Redis {
  const bounds = boundedRedisOptions(commandTimeoutMs);
  return typeof connection === 'string' ? new Redis(connection, bounds) : new Redis({ ...connection, ...bounds });
}

function isClient(value: RedisStoreOptions['redis']): value is Redis | Cluster {
  return typeof value === 'object' && value !== null && typeof (value as Redis).defineCommand === 'function';
}

const noop = (): void => {};

/**
 * The shared store: entries in Redis (7 or later), indexed by tag, written and evicted atomically
 * by Lua scripts, every eviction announced on `channel`. A Redis that is down or slow turns
 * reads into misses and writes into refusals; a failed `evict` or `clear` rejects. Works on a
 * Redis Cluster (a namespace lives in one slot). Throws a `TypeError` that shows the bad value
 * when an option is not usable.
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const {
    redis: connection,
    prefix = 'gcl',
    tombstoneMs = DEFAULT_TOMBSTONE_MS,
    commandTimeoutMs = DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
    now = Date.now,
    onError = noop,
  } = options;
  if (typeof prefix !== 'string' || prefix === '' || /[{}]/.test(prefix)) {
    throw new TypeError(`createRedisStore: expected prefix to be a non-empty string without braces, got ${JSON.stringify(prefix)}`);
  }
  if (!(Number.isSafeInteger(tombstoneMs) && tombstoneMs > 0)) {
    throw new TypeError(`createRedisStore: expected tombstoneMs to be a positive integer, got ${String(tombstoneMs)}`);
  }
  if (!(Number.isFinite(commandTimeoutMs) && commandTimeoutMs > 0)) {
    throw new TypeError(`createRedisStore: expected commandTimeoutMs to be a positive number, got ${String(commandTimeoutMs)}`);
  }
  if (connection === undefined || connection === null) {
    throw new TypeError('createRedisStore: expected redis to be an ioredis client, a redis:// URL or ioredis options, got nothing');
  }

  const owned = !isClient(connection);
  const client = owned ? ownClient(connection, commandTimeoutMs) : connection;
  // ioredis prefixes keys but not channels, and the scripts name channels after their keys.
  const keyPrefix = (client.options as { keyPrefix?: string }).keyPrefix;
  if (keyPrefix) {
    if (owned) client.disconnect();
    throw new TypeError(`createRedisStore: the ioredis client has keyPrefix ${JSON.stringify(keyPrefix)}; leave it unset and use the prefix option`);
  }
  // A client without an 'error' listener crashes the process on the first connection error.
  if (owned) client.on('error', (error: unknown) => onError(error, 'connection'));
  const scripts = defineScripts(client);

  const namespace = `{${prefix}}:`;
  const epochKey = `${namespace}epoch`;
  const genKey = `${namespace}gen`;
  const channel = `${prefix}:evictions`;
  const tierChannel = `${prefix}:tiers`;
  const origin = randomUUID();
  // The message without its closing brace: the script appends the epoch it assigns.
  const announcement = (fields: Omit<EvictionMessage, 'e'>) => JSON.stringify(fields).slice(0, -1);

  // A read that finds no epoch (a fresh or restarted Redis) gets a ticket that cannot store, so
  // the epoch is created as soon as the client is ready: commands sent from the 'ready' event go
  // out before any queued or later read on that connection.
  const init = (): void => {
    scripts.graphqlCacheInit(epochKey, genKey).catch((error: unknown) => onError(error, 'connection'));
  };
  client.on('ready', init);
  if (client.status === 'ready') init();

  async function get(key: string): Promise<Lookup> {
    const issuedAt = now();
    let reply: GetReply;
    try {
      reply = await withDeadline(scripts.graphqlCacheGet(epochKey, genKey, namespace, key), commandTimeoutMs, 'get');
    } catch (error) {
      onError(error, 'get');
      const ticket: RedisTicket = { epoch: NO_STORE_EPOCH, issuedAt, serverTime: 0 };
      return { ticket };
    }
    const [epoch, serverTime, raw] = reply;
    const ticket: RedisTicket = { epoch: Number(epoch), issuedAt, serverTime };
    const entry = liveEntry(raw, issuedAt);
    return entry === undefined ? { ticket } : { entry, ticket };
  }

  async function getMany(keys: readonly string[]): Promise<ManyLookup> {
    const issuedAt = now();
    let reply: GetManyReply;
    try {
      reply = await withDeadline(scripts.graphqlCacheGetMany(epochKey, genKey, namespace, ...keys), commandTimeoutMs, 'get');
    } catch (error) {
      onError(error, 'get');
      const ticket: RedisTicket = { epoch: NO_STORE_EPOCH, issuedAt, serverTime: 0 };
      return { entries: keys.map(() => undefined), ticket };
    }
    const [epoch, serverTime, ...raws] = reply;
    const ticket: RedisTicket = { epoch: Number(epoch), issuedAt, serverTime };
    return { entries: keys.map((_, i) => liveEntry(raws[i] ?? null, issuedAt)), ticket };
  }

  async function set(key: string, entry: CacheEntry, ticket: ReadTicket): Promise<boolean> {
    const { serverTime } = ticket as Partial<RedisTicket>;
    if (ticket.epoch === NO_STORE_EPOCH || typeof serverTime !== 'number') return false;
    const at = now();
    if (!(at - ticket.issuedAt < tombstoneMs)) return false;
    const ttl = Math.floor(entry.createdAt + entry.maxAgeMs + entry.swrMs - at);
    if (ttl <= 0) return false;
    try {
      const stored = await withDeadline(
        scripts.graphqlCacheSet(
          epochKey,
          genKey,
          namespace,
          key,
          encodeEntry(entry),
          ttl,
          ticket.epoch,
          serverTime,
          tombstoneMs,
          ...entry.tags,
        ),
        commandTimeoutMs,
        'set',
      );
      return stored === 1;
    } catch (error) {
      onError(error, 'set');
      return false;
    }
  }

  // An eviction that may have failed must not pass silently: one retry (the script is
  // idempotent in effect), then the caller hears about it.
  async function twice<T>(operation: 'evict' | 'clear', run: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(run(), commandTimeoutMs, operation);
    } catch (first) {
      onError(first, operation);
    }
    try {
      return await withDeadline(run(), commandTimeoutMs, operation);
    } catch (second) {
      onError(second, operation);
      throw new Error(`redis-store: ${operation} failed twice; entries may remain until their TTL`, { cause: second });
    }
  }

  async function evictAnnounced(tags: readonly string[]): Promise<Announced & { evicted: number }> {
    if (tags.length === 0) return { evicted: 0, epoch: 0, receivers: 0 };
    const message = announcement({ o: origin, t: [...tags] });
    const [evicted, epoch, receivers] = await twice('evict', () =>
      scripts.graphqlCacheEvict(epochKey, genKey, namespace, tombstoneMs, channel, tierChannel, message, ...tags),
    );
    return { evicted, epoch: Number(epoch), receivers };
  }

  async function clearAnnounced(): Promise<Announced> {
    const [epoch, receivers] = await twice('clear', () => scripts.graphqlCacheClear(epochKey, genKey, channel, tierChannel, announcement({ o: origin, c: 1 })));
    return { epoch: Number(epoch), receivers };
  }

  return {
    prefix,
    redis: client,
    commandTimeoutMs,
    channel,
    tierChannel,
    ackChannel: (of) => `${prefix}:acks:${of}`,
    origin,
    get,
    getMany,
    set,
    evictAnnounced,
    clearAnnounced,
    async evict(tags) {
      return (await evictAnnounced(tags)).evicted;
    },
    async clear() {
      await clearAnnounced();
    },
    async close() {
      client.off('ready', init);
      if (!owned) return;
      try {
        await withDeadline(client.quit(), commandTimeoutMs, 'quit');
      } catch {
        client.disconnect();
      }
    },
  };
}
