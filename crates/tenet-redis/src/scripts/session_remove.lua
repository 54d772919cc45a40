-- Ends a shared session: KEYS[1] the session's hash. Returns the replicas that held a
-- copy (to tell), or false when there was no such session.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local holders = {}
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 3) == 'at:' then
    table.insert(holders, string.sub(field, 4))
  end
end
redis.call('DEL', KEYS[1])
return holders
