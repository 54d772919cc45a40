-- Reads a shared task: KEYS[1] the task's hash; ARGV[1] the prefix of replicas' leases.
-- Returns {record, 1 when the replica running it holds its lease, else 0}, or false.
local held = redis.call('HMGET', KEYS[1], 'rec', 'replica')
if not held[1] then
  return false
end
return {held[1], redis.call('EXISTS', ARGV[1] .. held[2])}
