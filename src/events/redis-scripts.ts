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

/** KEYS: seq, stream, horizons, recipients, epoch. ARGV: recipient, data, createdAt, limit, slack, channel. */
export const APPEND_SCRIPT = `${openLog(5)}
local id = string.format('%d', redis.call('INCR', KEYS[1]))
redis.call('XADD', KEYS[2], id .. '-0', 'd', ARGV[2], 't', ARGV[3])
redis.call('SADD', KEYS[4], ARGV[1])
local limit = tonumber(ARGV[4])
local excess = redis.call('XLEN', KEYS[2]) - limit
if excess > tonumber(ARGV[5]) then
  local dropped = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', excess)
  redis.call('XTRIM', KEYS[2], 'MAXLEN', limit)
  local last = string.match(dropped[#dropped][1], '^(%d+)')
  local current = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
  if tonumber(last) > current then redis.call('HSET', KEYS[3], ARGV[1], last) end
end
redis.call('PUBLISH', ARGV[6], 'e\\n' .. id .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[2])
return tonumber(id)
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
local last = string.match(lastOld, '^(%d+)')
local current = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if tonumber(last) > current then redis.call('HSET', KEYS[2], ARGV[1], last) end
return redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d', tonumber(last) + 1) .. '-0')
`;

/** The Redis keys of one deployment's log and bus. */
export function redisKeys(prefix: string) {
  return {
    seq: `${prefix}seq`,
    epoch: `${prefix}epoch`,
    horizons: `${prefix}horizons`,
    recipients: `${prefix}recipients`,
    channel: `${prefix}bus`,
    stream: (recipient: string) => `${prefix}log:${recipient}`,
  };
}
