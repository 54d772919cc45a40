-- Applies a batch of changes to one conversation's context, all or none, then keeps
-- every caller's contexts within its share and all of them within the total.
--
-- KEYS[1]  the context: a hash, field = key, value = "<version>:<JSON>"; the field ""
--          (no key is empty) holds the bytes the context holds (keys and JSON values),
--          so that both live and expire as one
-- KEYS[2]  the store-wide version counter (a version is never given twice; made from
--          the server's clock when missing, so that it does not start over after Redis
--          lost it)
-- KEYS[3]  every context's footprint and share: a hash, field = context key, value =
--          "<bytes> <share>"
-- KEYS[4]  every context by when it was last written (ms): a sorted set
-- KEYS[5]  every share by the bytes its contexts take: a sorted set
-- KEYS[6]  the bytes all contexts take
-- ARGV[1]  the most bytes one context may hold
-- ARGV[2]  the context's time to live, in milliseconds
-- ARGV[3]  the share a context made now counts against ("": none; bounded by the total
--          alone); a context counts against the share that made it
-- ARGV[4]  the most bytes one share's contexts may take
-- ARGV[5]  the most contexts one share may hold
-- ARGV[6]  the most bytes all contexts may take
-- ARGV[7]  the prefix of each share's sorted set of its contexts by last write
--          ("<ARGV[7]><share>")
-- ARGV[8]  what one context takes beyond its keys and values (its bookkeeping)
-- ARGV[9..] groups of three: key, the version the caller read ("" for none; "*" when
--          the caller's changes to that key do not depend on what is there), and the new
--          value as JSON ("" to remove the key)
--
-- Returns {"ok", version...} (0 for a removed key), {"changed", key} when a key is not
-- at the version read (the caller reads again and retries), or {"full", needed, max}.
local context, counter, meta, all, holders, total = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local max, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local share, share_max, share_count, total_max = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local shares_prefix, overhead = ARGV[7], tonumber(ARGV[8])
local FIRST = 9

local function size(key, stored)
  if not stored then return 0 end
  local head = string.match(stored, '^%d+:')
  return #key + #stored - #head
end

local old = {}
for i = FIRST, #ARGV, 3 do
  local key, read = ARGV[i], ARGV[i + 1]
  local stored = redis.call('HGET', context, key)
  if read ~= '*' then
    local found = ''
    if stored then found = string.match(stored, '^(%d+):') end
    if found ~= read then return {'changed', key} end
  end
  old[i] = stored
end

local delta = 0
for i = FIRST, #ARGV, 3 do
  local key, value = ARGV[i], ARGV[i + 2]
  delta = delta - size(key, old[i])
  if value ~= '' then delta = delta + #key + #value end
end
local held = tonumber(redis.call('HGET', context, '') or '0')
if delta > 0 and held + delta > max then return {'full', held + delta, max} end

local now = redis.call('TIME')
if redis.call('EXISTS', counter) == 0 then
  redis.call('SET', counter, string.format('%d%06d', tonumber(now[1]), tonumber(now[2])), 'NX')
end
local result = {'ok'}
for i = FIRST, #ARGV, 3 do
  local key, value = ARGV[i], ARGV[i + 2]
  if value == '' then
    redis.call('HDEL', context, key)
    result[#result + 1] = 0
  else
    local version = redis.call('INCR', counter)
    redis.call('HSET', context, key, string.format('%d:%s', version, value))
    result[#result + 1] = version
  end
end
local kept = redis.call('HLEN', context) - (redis.call('HEXISTS', context, '')) > 0
if kept then
  redis.call('HSET', context, '', string.format('%d', held + delta))
  redis.call('PEXPIRE', context, ttl)
else
  redis.call('DEL', context)
end

-- The bookkeeping of the bounds.
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local function owned_by(s) return shares_prefix .. s end
local function read_meta(c)
  local m = redis.call('HGET', meta, c)
  if not m then return nil end
  local bytes, s = string.match(m, '^(%d+) (.*)$')
  return tonumber(bytes), s
end
-- Forgets context c (gone, or going now) in the bookkeeping (not in a share's set when
-- its footprint is unknown: drop takes it out of the set it was found in).
local function forget(c)
  local bytes, s = read_meta(c)
  redis.call('ZREM', all, c)
  if not bytes then return end
  redis.call('HDEL', meta, c)
  redis.call('ZREM', owned_by(s), c)
  if tonumber(redis.call('ZINCRBY', holders, -bytes, s)) <= 0 then redis.call('ZREM', holders, s) end
  redis.call('DECRBY', total, bytes)
end
-- Deletes context c, found in share s's set (taken out of it whatever the rest says).
local function drop(c, s)
  redis.call('DEL', c)
  redis.call('ZREM', owned_by(s), c)
  forget(c)
end
-- The context of share s written least recently, but for this one.
local function oldest_of(s)
  for _, c in ipairs(redis.call('ZRANGE', owned_by(s), 0, 1)) do
    if c ~= context then return c end
  end
  return nil
end

-- Contexts whose time ran out: forgotten (a few each time). One kept alive by reads
-- since it was written counts as written now.
for _, c in ipairs(redis.call('ZRANGEBYSCORE', all, '-inf', ms - ttl, 'LIMIT', 0, 64)) do
  if c ~= context then
    if redis.call('EXISTS', c) == 0 then
      forget(c)
    else
      local _, s = read_meta(c)
      redis.call('ZADD', all, ms, c)
      if s then redis.call('ZADD', owned_by(s), ms, c) end
    end
  end
end

if not kept then
  forget(context)
  return result
end
local before, owner = read_meta(context)
if not before then before, owner = 0, share end
local footprint = held + delta + overhead + #context
redis.call('HSET', meta, context, string.format('%d %s', footprint, owner))
redis.call('ZADD', all, ms, context)
redis.call('ZADD', owned_by(owner), ms, context)
redis.call('ZINCRBY', holders, footprint - before, owner)
redis.call('INCRBY', total, footprint - before)

-- Each pass drops one context; a bounded number per write, whatever the bookkeeping says.
local passes = share_count + 64
-- The owner's share: its contexts written least recently go first (never another's).
if owner ~= '' then
  while passes > 0 and (redis.call('ZCARD', owned_by(owner)) > share_count
      or tonumber(redis.call('ZSCORE', holders, owner) or '0') > share_max) do
    local c = oldest_of(owner)
    if not c then break end
    drop(c, owner)
    passes = passes - 1
  end
end
-- The total: the share holding the most bytes gives way (but not by this context alone).
while passes > 0 and tonumber(redis.call('GET', total) or '0') > total_max do
  local c, from
  for _, s in ipairs(redis.call('ZREVRANGE', holders, 0, 1)) do
    c, from = oldest_of(s), s
    if c then break end
  end
  if not c then break end
  drop(c, from)
  passes = passes - 1
end
return result
