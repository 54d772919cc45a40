-- Changes a shared session: KEYS[1] the session's hash; ARGV pairs of an op ('L' a log
-- level, 'S' subscribe to a URI, 'U' unsubscribe, 'C' its conversation was made, 'T' a
-- task was made in it, 'H' a replica holds it) and its argument. Every op but 'H' makes a new revision. Returns
-- the session's hash as it is then, or false (nothing written) when it is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local revised = false
for i = 1, #ARGV, 2 do
  local op, arg = ARGV[i], ARGV[i + 1]
  if op == 'L' then
    redis.call('HSET', KEYS[1], 'level', arg)
  elseif op == 'S' then
    redis.call('HSET', KEYS[1], 'sub:' .. arg, 1)
  elseif op == 'U' then
    redis.call('HDEL', KEYS[1], 'sub:' .. arg)
  elseif op == 'C' then
    redis.call('HSET', KEYS[1], 'conv', 1)
  elseif op == 'T' then
    redis.call('HSET', KEYS[1], 'task:' .. arg, 1)
  elseif op == 'H' then
    redis.call('HSET', KEYS[1], 'at:' .. arg, 1)
  end
  if op ~= 'H' then
    revised = true
  end
end
if revised then
  redis.call('HINCRBY', KEYS[1], 'rev', 1)
end
return redis.call('HGETALL', KEYS[1])
