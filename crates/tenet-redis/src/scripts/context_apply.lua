-- Applies a batch of changes to one conversation's context, all or none.
--
-- KEYS[1]  the context's entries: a hash, field = key, value = "<version>:<JSON>"
-- KEYS[2]  the bytes the context holds (keys and JSON values), kept beside it
-- KEYS[3]  the store-wide version counter (a version is never given twice)
-- ARGV[1]  the most bytes one context may hold
-- ARGV[2]  the context's time to live, in milliseconds
-- ARGV[3..] groups of three: key, the version the caller read ("" for none), and the
--          new value as JSON ("" to remove the key)
--
-- Returns {"ok", version...} (0 for a removed key), {"changed", key} when a key is not
-- at the version read (the caller reads again and retries), or {"full", needed, max}.
local entries, bytes, counter = KEYS[1], KEYS[2], KEYS[3]
local max, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])

local function size(key, stored)
  if not stored then return 0 end
  local head = string.match(stored, '^%d+:')
  return #key + #stored - #head
end

local old = {}
for i = 3, #ARGV, 3 do
  local key, read = ARGV[i], ARGV[i + 1]
  local stored = redis.call('HGET', entries, key)
  local found = ''
  if stored then found = string.match(stored, '^(%d+):') end
  if found ~= read then return {'changed', key} end
  old[i] = stored
end

local delta = 0
for i = 3, #ARGV, 3 do
  local key, value = ARGV[i], ARGV[i + 2]
  delta = delta - size(key, old[i])
  if value ~= '' then delta = delta + #key + #value end
end
local held = tonumber(redis.call('GET', bytes) or '0')
if delta > 0 and held + delta > max then return {'full', held + delta, max} end

local result = {'ok'}
for i = 3, #ARGV, 3 do
  local key, value = ARGV[i], ARGV[i + 2]
  if value == '' then
    redis.call('HDEL', entries, key)
    result[#result + 1] = 0
  else
    local version = redis.call('INCR', counter)
    redis.call('HSET', entries, key, version .. ':' .. value)
    result[#result + 1] = version
  end
end
if redis.call('EXISTS', entries) == 1 then
  redis.call('SET', bytes, held + delta, 'PX', ttl)
  redis.call('PEXPIRE', entries, ttl)
else
  redis.call('DEL', bytes)
end
return result
