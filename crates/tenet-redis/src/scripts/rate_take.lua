-- Takes a token from a bucket: KEYS[1] the bucket's hash (tokens, at); ARGV[1] the
-- refill rate per second, ARGV[2] the burst. Time is Redis's own, so replicas' clocks
-- do not matter (TIME before a write needs Redis 5 or later). Returns 0 when a token
-- was taken, else the milliseconds until one is.
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(held[1]), tonumber(held[2])
if tokens == nil or at == nil then
  tokens, at = burst, now
end
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.min(86400000, math.max(1, math.ceil((1 - tokens) / rate * 1000)))
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', now)
-- Gone once it would be full again anyway (at most a day: an integer, never written in
-- exponent form).
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.min(86400000, math.ceil((burst - tokens) / rate * 1000) + 1000)))
return wait
