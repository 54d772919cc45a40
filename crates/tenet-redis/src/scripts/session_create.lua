-- Creates a shared session: KEYS[1] the session's hash; ARGV[1] its time to live in
-- ms, ARGV[2] the record (JSON), ARGV[3] the log level, ARGV[4..] the URIs it is
-- subscribed to. Returns 1, or 0 (nothing written) when the id is taken.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'open', ARGV[2], 'level', ARGV[3], 'rev', 0)
for i = 4, #ARGV do
  redis.call('HSET', KEYS[1], 'sub:' .. ARGV[i], 1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
