-- Creates a shared session: KEYS[1] the session's hash; ARGV[1] its time to live in
-- ms, ARGV[2] the record (JSON), ARGV[3] the log level, ARGV[4] '1' when its
-- conversation was made, ARGV[5] how many subscriptions follow, then the URIs it is
-- subscribed to, then the replicas that hold it. Returns 1, or 0 (nothing written)
-- when the id is taken.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'open', ARGV[2], 'level', ARGV[3], 'rev', 0)
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'conv', 1)
end
local subscriptions = tonumber(ARGV[5])
for i = 6, #ARGV do
  if i < 6 + subscriptions then
    redis.call('HSET', KEYS[1], 'sub:' .. ARGV[i], 1)
  else
    redis.call('HSET', KEYS[1], 'at:' .. ARGV[i], 1)
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
