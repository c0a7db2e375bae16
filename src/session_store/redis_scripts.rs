//! The Lua scripts of the Redis session store: each runs as one atomic step on the Redis
//! server, so a check and the writes it decides are never split by another replica's command.

/// Adds a member to a sorted set and extends (never shortens) the set's lifetime.
pub const INDEX_ADD: &str = r"
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1";

/// Increments a counter, giving it a TTL only when it is created.
pub const INCR_WITH_TTL: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n";

/// `SessionStore::incr_bounded` (see `BoundedIncr`). KEYS: the holds, then the counters. ARGV:
/// the number of holds, now, the TTL (ms), then each counter's bound. Returns {1, counts...},
/// {2, index, until} (a hold) or {3, index, count} (a full counter), indexes from 0.
pub const INCR_BOUNDED: &str = r"
local holds = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
for i = 1, holds do
  local ends = tonumber(redis.call('GET', KEYS[i]) or '')
  if ends and ends > now then return {2, i - 1, ends} end
end
for i = holds + 1, #KEYS do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  if count >= tonumber(ARGV[3 + i - holds]) then return {3, i - holds - 1, count} end
end
local out = {1}
for i = holds + 1, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
  table.insert(out, n)
end
return out";

/// `SessionStore::apply` (see `Writes`). KEYS: the counters to give back, the keys to delete,
/// the keys to store. ARGV: the numbers of the first two, then a value and a TTL (ms) per key to
/// store.
pub const APPLY: &str = r"
local decr, delete = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, decr do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  if count > 0 then redis.call('DECR', KEYS[i]) end
end
for i = decr + 1, decr + delete do redis.call('DEL', KEYS[i]) end
for i = decr + delete + 1, #KEYS do
  local at = 1 + 2 * (i - decr - delete)
  redis.call('SET', KEYS[i], ARGV[at], 'PX', ARGV[at + 1])
end
return 1";

/// `SessionStore::admit_session` (see `Admission`). KEYS: user index, then the deadline indexes.
/// ARGV:
/// member, record key prefix, now, idle and absolute timeouts (s), index TTL (ms), limit (0 =
/// unlimited), evict ("1"/"0"), the new record, its TTL (ms), its expiry score, the expiry
/// indexes' TTL (ms). Records are read by key from the prefix, so this needs a single
/// Redis node (or Sentinel), not Redis Cluster.
pub const ADMIT_SESSION: &str = r"
local now = tonumber(ARGV[3])
local idle, absolute = tonumber(ARGV[4]), tonumber(ARGV[5])
local limit = tonumber(ARGV[7])
local live = {}
-- Without a limit there is nothing to count: the admission costs the same however many
-- sessions the user has (ended ones leave the index when they end or are swept).
if limit > 0 then
  for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if m ~= ARGV[1] then
      local raw = redis.call('GET', ARGV[2] .. m)
      if not raw then
        redis.call('ZREM', KEYS[1], m)
      else
        local ok, r = pcall(cjson.decode, raw)
        if ok and type(r) == 'table' and tonumber(r.c) and tonumber(r.l)
          and now < tonumber(r.c) + absolute and now < tonumber(r.l) + idle then
          table.insert(live, m)
        end
      end
    end
  end
end
local evicted = {}
if limit > 0 and #live >= limit then
  if ARGV[8] ~= '1' then
    return {0, live}
  end
  for i = 1, #live - limit + 1 do
    local m = live[i]
    local record = redis.call('GET', ARGV[2] .. m)
    redis.call('DEL', ARGV[2] .. m)
    for k = 1, #KEYS do redis.call('ZREM', KEYS[k], m) end
    table.insert(evicted, m)
    table.insert(evicted, record or '')
  end
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local order = 1
if last[2] then order = tonumber(last[2]) + 1 end
redis.call('ZADD', KEYS[1], order, ARGV[1])
local ttl = tonumber(ARGV[6])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
redis.call('SET', ARGV[2] .. ARGV[1], ARGV[9], 'PX', ARGV[10])
ttl = tonumber(ARGV[12])
for k = 2, #KEYS do
  redis.call('ZADD', KEYS[k], ARGV[11], ARGV[1])
  if redis.call('PTTL', KEYS[k]) < ttl then redis.call('PEXPIRE', KEYS[k], ttl) end
end
return {1, evicted}";

/// `SessionStore::set_existing_indexed` (see `Rewrite`). KEYS: the record, then the indexes.
/// ARGV: the value, its TTL (ms), the member, its score, the indexes' TTL (ms).
pub const REWRITE_INDEXED: &str = r"
if not redis.call('SET', KEYS[1], ARGV[1], 'XX', 'PX', ARGV[2]) then return 0 end
local ttl = tonumber(ARGV[5])
for k = 2, #KEYS do
  redis.call('ZADD', KEYS[k], ARGV[4], ARGV[3])
  if redis.call('PTTL', KEYS[k]) < ttl then redis.call('PEXPIRE', KEYS[k], ttl) end
end
return 1";
