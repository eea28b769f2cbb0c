/**
 * Lua run inside Redis, where each script is atomic. That atomicity is the whole ordering
 * argument for scale-out: one script takes the next id, appends to the recipient's stream,
 * trims it and PUBLISHes — so ids, stream order and pub/sub order are one and the same, whichever
 * instance published. Stream entry ids are `<id>-0`, which keeps the SSE id a plain integer.
 *
 * Trimming is exact rather than `MAXLEN ~`: Redis 7 does not record what `~` trimmed (its
 * `max-deleted-entry-id` only follows XDEL), and a resume must know exactly whether it lost a
 * message. So the script reads the entries it is about to drop and raises the recipient's
 * horizon to the last of them. A slack of a tenth of the limit keeps this amortised O(1).
 */

/** KEYS: seq, stream, horizons, recipients. ARGV: recipient, data, createdAt, limit, slack, channel. */
export const APPEND_SCRIPT = `
local id = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], id .. '-0', 'd', ARGV[2], 't', ARGV[3])
redis.call('SADD', KEYS[4], ARGV[1])
local limit = tonumber(ARGV[4])
local excess = redis.call('XLEN', KEYS[2]) - limit
if excess > tonumber(ARGV[5]) then
  local dropped = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', excess)
  redis.call('XTRIM', KEYS[2], 'MAXLEN', limit)
  local last = tonumber(string.match(dropped[#dropped][1], '^(%d+)'))
  local current = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
  if last > current then redis.call('HSET', KEYS[3], ARGV[1], last) end
end
redis.call('PUBLISH', ARGV[6], 'e\\n' .. id .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[2])
return id
`;

/** KEYS: stream, horizons. ARGV: recipient, cutoff (unix ms). Drops entries older than cutoff. */
export const PRUNE_BY_AGE_SCRIPT = `
local cutoff = tonumber(ARGV[2])
local lastOld = nil
local start = '-'
while true do
  local batch = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', 100)
  local young = false
  for _, entry in ipairs(batch) do
    local fields = entry[2]
    local t = 0
    for i = 1, #fields, 2 do
      if fields[i] == 't' then t = tonumber(fields[i + 1]) end
    end
    if t >= cutoff then young = true; break end
    lastOld = entry[1]
  end
  if young or #batch < 100 then break end
  start = '(' .. batch[#batch][1]
end
if not lastOld then return 0 end
local last = tonumber(string.match(lastOld, '^(%d+)'))
local current = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if last > current then redis.call('HSET', KEYS[2], ARGV[1], last) end
return redis.call('XTRIM', KEYS[1], 'MINID', (last + 1) .. '-0')
`;

/** The Redis keys of one deployment's log and bus. */
export function redisKeys(prefix: string) {
  return {
    seq: `${prefix}seq`,
    horizons: `${prefix}horizons`,
    recipients: `${prefix}recipients`,
    channel: `${prefix}bus`,
    stream: (recipient: string) => `${prefix}log:${recipient}`,
  };
}
