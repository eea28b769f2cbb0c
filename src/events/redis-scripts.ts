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
 *
 * Bytes: each recipient's entries hold at most a byte budget (one account must not fill Redis's
 * memory). A hash keeps each recipient's running total; an append past the budget drops its
 * oldest entries in the same script, exactly like the count. (Logs written before the budget
 * existed are counted from their next append on; the total never goes below zero, and their older
 * entries leave with age.)
 */

/**
 * KEYS: seq, stream, horizons, recipients, bytes.
 * ARGV: recipient, data, createdAt, limit, slack, channel, byte budget.
 */
export const APPEND_SCRIPT = `
local id = redis.call('INCR', KEYS[1])
local newest = id .. '-0'
redis.call('XADD', KEYS[2], newest, 'd', ARGV[2], 't', ARGV[3])
redis.call('SADD', KEYS[4], ARGV[1])
local total = redis.call('HINCRBY', KEYS[5], ARGV[1], string.len(ARGV[2]))
local budget = tonumber(ARGV[7])
local excess = redis.call('XLEN', KEYS[2]) - tonumber(ARGV[4])
if excess > tonumber(ARGV[5]) or total > budget then
  -- Oldest first: the count's excess, then more while the total is over the budget; never the new entry.
  local dropped, freed, last, start = 0, 0, nil, '-'
  local more = true
  while more do
    local batch = redis.call('XRANGE', KEYS[2], start, '+', 'COUNT', 100)
    more = #batch == 100
    for _, entry in ipairs(batch) do
      if entry[1] == newest or (dropped >= excess and total - freed <= budget) then more = false; break end
      dropped = dropped + 1
      freed = freed + string.len(entry[2][2])
      last = entry[1]
    end
    if more then start = '(' .. batch[#batch][1] end
  end
  if last then
    local through = tonumber(string.match(last, '^(%d+)'))
    redis.call('XTRIM', KEYS[2], 'MINID', (through + 1) .. '-0')
    local current = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
    if through > current then redis.call('HSET', KEYS[3], ARGV[1], through) end
    if redis.call('HINCRBY', KEYS[5], ARGV[1], -freed) < 0 then redis.call('HSET', KEYS[5], ARGV[1], 0) end
  end
end
redis.call('PUBLISH', ARGV[6], 'e\\n' .. id .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[2])
return id
`;

/** KEYS: stream, horizons, bytes. ARGV: recipient, cutoff (unix ms). Drops entries older than cutoff. */
export const PRUNE_BY_AGE_SCRIPT = `
local cutoff = tonumber(ARGV[2])
local lastOld = nil
local freed = 0
local start = '-'
while true do
  local batch = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', 100)
  local young = false
  for _, entry in ipairs(batch) do
    local fields = entry[2]
    local t = 0
    local size = 0
    for i = 1, #fields, 2 do
      if fields[i] == 't' then t = tonumber(fields[i + 1]) end
      if fields[i] == 'd' then size = string.len(fields[i + 1]) end
    end
    if t >= cutoff then young = true; break end
    lastOld = entry[1]
    freed = freed + size
  end
  if young or #batch < 100 then break end
  start = '(' .. batch[#batch][1]
end
if not lastOld then return 0 end
local last = tonumber(string.match(lastOld, '^(%d+)'))
local current = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if last > current then redis.call('HSET', KEYS[2], ARGV[1], last) end
if redis.call('HINCRBY', KEYS[3], ARGV[1], -freed) < 0 then redis.call('HSET', KEYS[3], ARGV[1], 0) end
return redis.call('XTRIM', KEYS[1], 'MINID', (last + 1) .. '-0')
`;

/** The Redis keys of one deployment's log and bus. */
export function redisKeys(prefix: string) {
  return {
    seq: `${prefix}seq`,
    horizons: `${prefix}horizons`,
    bytes: `${prefix}bytes`,
    recipients: `${prefix}recipients`,
    channel: `${prefix}bus`,
    stream: (recipient: string) => `${prefix}log:${recipient}`,
  };
}
