-- Hands a letter to a replica: KEYS[1] its inbox, KEYS[2] its lease (kept while it reads
-- the inbox); ARGV[1] the letter, ARGV[2] how long it waits unread, in ms. Returns 1, or
-- 0 (nothing written) when no live replica has that name.
if redis.call('EXISTS', KEYS[2]) == 0 then
  return 0
end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
