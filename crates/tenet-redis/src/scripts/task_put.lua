-- Writes a shared task: KEYS[1] the task's hash; ARGV[1] the write's seq, ARGV[2] the
-- record (JSON), ARGV[3] the replica running it, ARGV[4] its time to live in ms.
-- Returns 1 (written), 0 (a write with a later or the same seq came first) or 2 (the
-- task is fenced: another replica ended it, finding this one gone).
if redis.call('HEXISTS', KEYS[1], 'fenced') == 1 then
  return 2
end
local held = redis.call('HGET', KEYS[1], 'seq')
if held and tonumber(held) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'rec', ARGV[2], 'replica', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
