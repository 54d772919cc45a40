-- Changes a shared session's state: KEYS[1] the session's hash; ARGV pairs of an op
-- ('L' a log level, 'S' subscribe to a URI, 'U' unsubscribe) and its argument.
-- Returns the session's new revision, or false (nothing written) when it is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
for i = 1, #ARGV, 2 do
  local op, arg = ARGV[i], ARGV[i + 1]
  if op == 'L' then
    redis.call('HSET', KEYS[1], 'level', arg)
  elseif op == 'S' then
    redis.call('HSET', KEYS[1], 'sub:' .. arg, 1)
  elseif op == 'U' then
    redis.call('HDEL', KEYS[1], 'sub:' .. arg)
  end
end
return redis.call('HINCRBY', KEYS[1], 'rev', 1)
