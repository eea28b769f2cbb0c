/**
 * Lua run inside Redis, where each script is atomic. That atomicity is the whole ordering
 * argument for scale-out: one script takes the next id, appends to the recipient's stream,
 * trims it and PUBLISHes — so ids, stream order and pub/sub order are one and the same, whichever
 * instance published. Stream entry ids are `<id>-0`, which keeps the SSE id a plain integer.
 * Ids pass through Lua as strings (`string.format('%d')`): Lua prints numbers past 10^14 in
 * exponent form.
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
 *
 * Epochs: Redis may come back from a restart or failover *empty* (no persistence, a lost
 * volume). A client's Last-Event-ID then names a message of a log that no longer exists, and
 * had the new log simply restarted at 1, an old id would soon look like a valid position in it
 * and a resume would silently skip the new log's first messages. So whenever the log is
 * (re)created, its counter starts from Redis's own clock — seconds × 10^5 plus the 10-µs units
 * of the current second — and that start is recorded as the log's epoch. Every id of a new log
 * is then above every id of an older one (unless the older one averaged more than 100,000
 * messages a second over its whole life), and a resume from below the epoch is told to reload.
 * (Centrifugo keeps an epoch string beside each offset; doing it inside the number keeps SSE
 * ids plain integers — what SSEXI.js, `sx-last-id` and the SQL log use — at 15 digits until
 * the year 2286.) The server's clock, not the instances', so their skew cannot matter.
 */

/** Lua prelude, KEYS[1] = seq, KEYS[epochKey] = epoch: creates the log's counter and epoch if missing. */
const openLog = (epochKey: number) => `
if redis.call('EXISTS', KEYS[1]) == 0 then
  local now = redis.call('TIME')
  local start = now[1] .. string.format('%05d', math.floor(tonumber(now[2]) / 10))
  redis.call('SET', KEYS[1], start)
  redis.call('SET', KEYS[${epochKey}], start)
end
`;

/** KEYS: seq, epoch. Returns { newest id, epoch }, opening the log if Redis holds none. */
export const OPEN_LOG_SCRIPT = `${openLog(2)}
return {tonumber(redis.call('GET', KEYS[1])), tonumber(redis.call('GET', KEYS[2]) or '0')}
`;

/**
 * KEYS: seq, stream, horizons, recipients, bytes, epoch.
 * ARGV: recipient, data, createdAt, limit, slack, channel, byte budget.
 */
export const APPEND_SCRIPT = `${openLog(6)}
local id = string.format('%d', redis.call('INCR', KEYS[1]))
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
    local throughText = string.match(last, '^(%d+)')
    local through = tonumber(throughText)
    redis.call('XTRIM', KEYS[2], 'MINID', string.format('%d', through + 1) .. '-0')
    local current = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
    if through > current then redis.call('HSET', KEYS[3], ARGV[1], throughText) end
    if redis.call('HINCRBY', KEYS[5], ARGV[1], -freed) < 0 then redis.call('HSET', KEYS[5], ARGV[1], 0) end
  end
end
redis.call('PUBLISH', ARGV[6], 'e\\n' .. id .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[2])
return tonumber(id)
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
local last = string.match(lastOld, '^(%d+)')
local current = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if tonumber(last) > current then redis.call('HSET', KEYS[2], ARGV[1], last) end
if redis.call('HINCRBY', KEYS[3], ARGV[1], -freed) < 0 then redis.call('HSET', KEYS[3], ARGV[1], 0) end
return redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d', tonumber(last) + 1) .. '-0')
`;

/**
 * KEYS: stream, horizons, bytes, seq, recipients. ARGV: recipient. Deletes the recipient's whole
 * stream and raises its horizon to the newest id issued; returns how many entries went.
 */
export const FORGET_SCRIPT = `
local through = redis.call('GET', KEYS[4])
if through then
  local current = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
  if tonumber(through) > current then redis.call('HSET', KEYS[2], ARGV[1], through) end
end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
local dropped = redis.call('XLEN', KEYS[1])
redis.call('DEL', KEYS[1])
return dropped
`;

/** The Redis keys of one deployment's log and bus. */
export function redisKeys(prefix: string) {
  return {
    seq: `${prefix}seq`,
    epoch: `${prefix}epoch`,
    horizons: `${prefix}horizons`,
    bytes: `${prefix}bytes`,
    recipients: `${prefix}recipients`,
    channel: `${prefix}bus`,
    stream: (recipient: string) => `${prefix}log:${recipient}`,
  };
}
