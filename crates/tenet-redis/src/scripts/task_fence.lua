-- Ends a task whose replica is gone, and fences it: KEYS[1] the task's hash; ARGV[1]
-- the seq read, ARGV[2] the record (failed), ARGV[3] the prefix of replicas' leases,
-- ARGV[4] the time to live in ms. Writes only while the stored seq is still ARGV[1],
-- the task is not fenced yet and its replica holds no lease. Returns 1 or 0.
local held = redis.call('HMGET', KEYS[1], 'seq', 'replica', 'fenced')
if not held[1] or held[3] or tonumber(held[1]) ~= tonumber(ARGV[1]) then
  return 0
end
if redis.call('EXISTS', ARGV[3] .. held[2]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'rec', ARGV[2], 'fenced', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
