-- Applies a batch of changes to one conversation's context, all or none.
--
-- KEYS[1]  the context: a hash, field = key, value = "<version>:<JSON>"; the field ""
--          (no key is empty) holds the bytes the context holds (keys and JSON values),
--          so that both live and expire as one
-- KEYS[2]  the store-wide version counter (a version is never given twice; made from
--          the server's clock when missing, so that it does not start over after Redis
--          lost it)
-- ARGV[1]  the most bytes one context may hold
-- ARGV[2]  the context's time to live, in milliseconds
-- ARGV[3..] groups of three: key, the version the caller read ("" for none; "*" when the
--          caller's changes to that key do not depend on what is there), and the new
--          value as JSON ("" to remove the key)
--
-- Returns {"ok", version...} (0 for a removed key), {"changed", key} when a key is not
-- at the version read (the caller reads again and retries), or {"full", needed, max}.
local context, counter = KEYS[1], KEYS[2]
local max, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])

local function size(key, stored)
  if not stored then return 0 end
  local head = string.match(stored, '^%d+:')
  return #key + #stored - #head
end

local old = {}
for i = 3, #ARGV, 3 do
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
for i = 3, #ARGV, 3 do
  local key, value = ARGV[i], ARGV[i + 2]
  delta = delta - size(key, old[i])
  if value ~= '' then delta = delta + #key + #value end
end
local held = tonumber(redis.call('HGET', context, '') or '0')
if delta > 0 and held + delta > max then return {'full', held + delta, max} end

if redis.call('EXISTS', counter) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', counter, string.format('%d%06d', tonumber(now[1]), tonumber(now[2])), 'NX')
end
local result = {'ok'}
for i = 3, #ARGV, 3 do
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
if redis.call('HLEN', context) - (redis.call('HEXISTS', context, '')) > 0 then
  redis.call('HSET', context, '', string.format('%d', held + delta))
  redis.call('PEXPIRE', context, ttl)
else
  redis.call('DEL', context)
end
return result
